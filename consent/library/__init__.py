"""Library stage: the clause and treatment files (built in, and a clinic's packs) loaded and validated.

``loader`` finds and reads them (:class:`Library`, :func:`get_library`, per pack, cached); ``treatments``
reads a treatment file. Validation of each file's fields is :mod:`consent.content`. Imports the base and
``inputs`` only.
"""
