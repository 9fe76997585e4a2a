"""The speed-ups, behind one door: everything that makes a form faster without changing it.

The plain path renders a form by the obvious route: :func:`consent.build` (assemble, check), then
consent/pdf/whole.py (HTML, WeasyPrint, fields, stamp) and consent/docx/render.py (docxtpl,
python-docx). To change how a form looks, change the templates and those modules; nothing here needs
to change. The callers of a whole form (the package front, the batch worker, rerender, the template
export, the command line) go through the door, :mod:`consent.speedups.render`, which takes the fast
path when it can and the plain path otherwise.

What lives here:

- ``render``: the door (:func:`render_pdf`, :func:`render_docx`, :func:`write_form`); ``one_form``:
  ``consent render``'s form, its PDF made in the process forked first.
- ``tokens``: a form's patient strings as tokens, so that the forms of a batch have one tokenised twin;
  ``SharedWork`` keeps what is made from a twin, in this process, in a batch's folder for the other
  workers, or in the disk cache.
- ``layers`` and ``stack``: the shared PDF layout (one body laid out per twin, each form's own small
  layer drawn over it); ``shared_docx``: the twin's DOCX parts, each form's strings put back.
- ``disk_cache``: shared work kept between runs of the command; ``pdf_process``: the PDF process the
  command line forks before it imports anything else; ``caches``: :func:`consent.clear_caches`;
  ``switches``: the environment switches.

The invariants, each with its test:

1. **The same result as the plain path.** A DOCX from the twin has the same bytes as the DOCX rendered
   on its own. A PDF from the shared layout has the same pages as the whole layout (the same words, and
   the same pixels at 100 dpi), but not the same bytes: its pages are form XObjects stacked by pikepdf.
   The disk cache and the PDF process change no byte: a form has the same bytes with them on or off
   (tests/test_plain_path.py, benchmarks/output_digests.py).
2. **An off switch for each**, with the plain path behind it: ``CONSENT_SPEEDUPS=off`` turns all of
   them off; ``CONSENT_CACHE_DIR=off`` the disk cache, ``CONSENT_PDF_PROCESS=off`` the PDF process. When a
   speed-up cannot be used (a token in the real text, a slot that overflows, a fallback font, no
   ``fork``, a cache folder that is not ours), the plain path makes the form, with the same errors.
3. **Nothing of a patient in shared work.** A twin holds tokens where the patient's name, birth date,
   MRN and form id print, and empty screening boxes; a paragraph that prints a patient's string is an
   empty slot. What may never enter a shared layout or the disk cache: a patient's value, a screening
   answer, anything ``SharedWork.get(..., private=True)`` was given.
4. **Named by everything it depends on.** A disk cache entry's name hashes the twin, the template
   files, the whole package's code (every subpackage, not only this folder), the libraries' versions
   and the system fonts: a change to any of them makes the entry anew.
5. **Fork first.** ``consent.speedups`` and ``consent.speedups.pdf_process`` import nothing heavy: the
   command line forks the PDF process before the renderers (``consent.pdf``, WeasyPrint) are imported.

No stage below (``pdf``, ``docx``, ``check``, ``_build``, ``_output`` ...) imports this package
(tests/test_layering.py).
"""
