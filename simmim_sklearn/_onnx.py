"""ONNX export of a fitted transformer's ``transform`` path."""

import copy

import torch


def export_transform_onnx(estimator, path):
    """Write ``estimator.transform`` (float32 rows in, float32 representation out) as ONNX.

    Uses ``torch.onnx.export``'s ``torch.export``-based exporter, which needs the ``onnx``
    and ``onnxscript`` packages. The graph takes raw rows named ``"X"`` of any batch size
    (NaN entries are hidden, as in ``transform``) and returns ``"Z"``.
    """
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "export_onnx needs the onnx and onnxscript packages: "
            "pip install onnx onnxscript (onnxruntime to run the exported file)."
        ) from error
    network = copy.deepcopy(estimator.module_).cpu().float().eval()
    example = torch.zeros((2, estimator.n_features_in_))
    torch.onnx.export(
        network, (example,), str(path), input_names=["X"], output_names=["Z"],
        dynamic_shapes=({0: torch.export.Dim("n_samples")},), dynamo=True,
        external_data=False, verbose=False,
    )
    return path
