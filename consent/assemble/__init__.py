"""Assemble stage: the clause and treatment files filled in for one patient and clinic, a :class:`~consent.document.Form`.

``assembly`` picks the clauses of a treatment, renders their text (sandboxed Jinja) with the patient's,
clinic's and product's values and builds the document model; ``clinic`` reads what a clinic's file gives
for a treatment (product, fees, its own text). Imports the base, ``inputs``, ``library``; knows nothing
of the check or the renderers.
"""
