"""AdamW through torch's functional kernel, over parameter groups at scaled learning rates.

``torch.optim.AdamW`` imports torch's compiler (``torch._dynamo``) the first time an optimizer
is built in a process, about a second on a laptop CPU: several times a whole fit on a small
data set. The functional ``torch.optim.adamw.adamw`` runs the same update (the same fused
kernel on CPU and CUDA) without that import; this class keeps its state.
"""

import torch
from torch.optim.adamw import adamw

BETAS = (0.9, 0.999)
EPS = 1e-8


class AdamW:
    """AdamW over ``groups`` (dicts with ``"params"`` and their base ``"lr"``), decoupled
    ``weight_decay``, as ``torch.optim.AdamW(groups, weight_decay=..., fused=fused)`` updates.

    ``step(lr_factor)`` updates every parameter that has a gradient at ``lr_factor`` times
    its group's rate; ``state_dict()`` and the ``state`` argument carry the moments and step
    counts from one fit to the next (``partial_fit``), by parameter position.
    """

    def __init__(self, groups, weight_decay, fused, state=None):
        self.groups = groups
        self.weight_decay = weight_decay
        self.fused = fused
        parameters = [parameter for group in groups for parameter in group["params"]]
        self.state = [None] * len(parameters)
        if state is not None:
            # Moments saved on another device (a model pickled on the CPU) follow the
            # parameters.
            self.state = [saved and {name: tensor.to(self._device_of(name, parameter))
                                     for name, tensor in saved.items()}
                          for saved, parameter in zip(state["state"], parameters)]

    def zero_grad(self):
        for group in self.groups:
            for parameter in group["params"]:
                parameter.grad = None

    @torch.no_grad()
    def step(self, lr_factor=1.0):
        index = 0
        for group in self.groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for parameter in group["params"]:
                if parameter.grad is not None:
                    state = self.state[index] or self._new_state(parameter)
                    self.state[index] = state
                    params.append(parameter)
                    grads.append(parameter.grad)
                    exp_avgs.append(state["exp_avg"])
                    exp_avg_sqs.append(state["exp_avg_sq"])
                    steps.append(state["step"])
                index += 1
            if params:
                adamw(params, grads, exp_avgs, exp_avg_sqs, [], steps, fused=self.fused or None,
                      amsgrad=False, beta1=BETAS[0], beta2=BETAS[1],
                      lr=group["lr"] * lr_factor, weight_decay=self.weight_decay, eps=EPS,
                      maximize=False)

    def _device_of(self, name, parameter):
        # As torch.optim.AdamW: the step count on the parameter's device for the fused
        # kernel, on the CPU otherwise; the moments beside the parameter.
        return "cpu" if name == "step" and not self.fused else parameter.device

    def _new_state(self, parameter):
        return {"step": torch.zeros((), dtype=torch.float32,
                                    device=self._device_of("step", parameter)),
                "exp_avg": torch.zeros_like(parameter, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(parameter, memory_format=torch.preserve_format)}

    def state_dict(self):
        return {"state": list(self.state)}
