"""The return path: a signed form read back, checked, sealed, archived, re-rendered and recorded.

``read`` reads a signed PDF (:func:`read_signed`, ``consent verify``): its content stamp (``stamped``),
fields and signatures, what changed after each signature (``changes``) and whether the pages show what the
file holds (``seen``); ``signatures`` checks each signature's bytes and certificate; ``seal`` adds the
clinic's seal; ``archive`` makes the archival PDF/A-3 copy; ``rerender`` makes the form again from the
data it carries; ``provenance`` and ``record`` make its FHIR Bundle for the record. Imports every stage
below (the renderers, through :mod:`consent.speedups.render`).
"""
