"""Templates for an EHR's form library: a form with its patient's values as fields to merge.

``form`` builds a form for a placeholder patient and finds its tokens; ``docx``, ``html`` and the PDF
(through :mod:`consent.speedups.render`) export it in each shape; ``export`` writes one
(:func:`export_template`); ``profiles`` names the fields for each EHR; ``signers`` says who signs each
copy and gives a filled copy its own identity.
"""
