"""The sequence sets of bench_tokens.py, read from benchmarks/data (see its README.md)."""

import re
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
SMS_ROWS, SMS_SPAM = 5574, 747


def load_splice():
    """UCI splice junctions: 3,190 DNA strings of 60 nt and their classes (EI, IE, N)."""
    documents, labels = [], []
    for line in (DATA / "splice.dat").read_text().splitlines():
        *bases, label = [field.strip() for field in line.split(",")]
        documents.append("".join(bases))
        labels.append(label)
    return documents, np.array(labels)


def load_peptides():
    """modlAMP's antimicrobial peptides (1) against UniProt peptides (0): 5,200 strings."""
    lines = (DATA / "AMPvsUniProt.csv").read_text().splitlines()[1:]  # header: counts
    documents, labels = zip(*(line.split(",") for line in lines))
    return [document.strip() for document in documents], np.array(labels, dtype=int)


def load_sms():
    """The SMS Spam Collection: 5,574 messages, 1 for spam, from the malformed CSV.

    Rows are ``index,label,text``, the text quoted where it holds a comma; the rows that a
    broken quote swallows into the one before (737 of them) are in the original
    ``ham<TAB>text`` form. Reading line by line recovers every message.
    """
    csv_row = re.compile(r"^\d+,([01]),(.*)$")
    tab_row = re.compile(r"^(ham|spam)\t(.*)$")
    documents, labels = [], []
    lines = (DATA / "sms-spam.csv").read_text(encoding="utf-8").split("\n")[1:]
    for line in filter(None, lines):
        match = csv_row.match(line)
        if match:
            label, text = int(match.group(1)), match.group(2)
        else:
            match = tab_row.match(line)
            label, text = int(match.group(1) == "spam"), match.group(2)
        if text.startswith('"'):
            # A quoted field; the broken ones lack their closing quote.
            text = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
            text = text.replace('""', '"')
        documents.append(text)
        labels.append(label)
    labels = np.array(labels)
    assert len(documents) == SMS_ROWS and labels.sum() == SMS_SPAM, (len(documents),
                                                                     labels.sum())
    return documents, labels
