"""Assemble stage: the clause and treatment files filled in for one patient and clinic, a :class:`~consent.document.Form`.

``assembly`` renders the clauses of a treatment (sandboxed Jinja) and builds the document model:
``selection`` picks the clauses and state notices and their order, ``values`` gives their text the
patient's, clinic's and product's values, and ``clinic`` reads what a clinic's file gives for a
treatment (product, fees, its own text). Imports the base, ``inputs``, ``library``; knows nothing
of the check or the renderers.
"""
