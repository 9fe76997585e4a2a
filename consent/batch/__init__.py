"""Batch stage: a form for every record of an EHR export, in worker processes (:func:`run_batch`).

``run`` reads the records, hands tasks to the workers and resumes a batch stopped half way; ``outputs``
writes the manifest, errors.csv and the FHIR Bundle; ``worker`` makes one record's form and files;
``preload`` is what the fork server loads once for all workers.
"""
