"""Render stage, PDF, the plain path: a form's HTML laid out by WeasyPrint, its fields and its stamp.

``html`` makes the HTML (sandboxed Jinja templates), lays it out and writes it; ``whole`` is the whole
route from a form to its finished PDF; ``fields`` adds the AcroForm fields of a fillable PDF at
``places``; ``glyphs`` checks that the fonts can draw every character; ``finish`` tidies WeasyPrint's
output; ``stamp`` stamps the content hash that ``consent verify`` reads back; ``acroform`` reads and
writes form fields with pikepdf. Speed-ups live above, in :mod:`consent.speedups`. Importing this package
loads nothing: WeasyPrint is imported when the first PDF is made (the command line forks its PDF process
first, see consent/__main__.py).
"""
