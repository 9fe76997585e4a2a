"""Read patients from EHR exports: FHIR R4 JSON and NDJSON (DSTU2, STU3 with a note), or CSV with a mapping.

    from consent.ehr import read_records

    for record in read_records(["export.ndjson", "clinic.csv"], mapping="clinic-mapping.yaml"):
        if record.patient is None:
            print(record.number, record.source, *record.problems)

``read_records`` checks the files at once and returns :class:`Records`, which reads them again each
time it is iterated (a batch's records can be counted first, or given to two batches). Each patient
becomes an :class:`ImportedRecord` numbered from 1 across all inputs. From FHIR
only the name (official, else usual, else the first), the birth date, the MRN (the identifier
typed ``MR``) and the preferred language (a code, else a language's name) are read; SSN, driver's
licence, passport and other identifiers are never read. Deceased patients and animals are records
with problems: no form is made for them. A CSV export needs a YAML mapping (:class:`CsvMapping`)::

    columns:                 # field -> column header
      full_name: Name        # or given_name + family_name
      birth_date: DOB
      mrn: MRN               # optional
      preferred_language: Language   # optional: a code (es) or a name (Spanish, español)
      deceased: Deceased     # optional: yes/no or a date of death (blank: alive)
      treatment: Procedure   # optional: each row's treatment id (default: a column named "treatment")
      large_print: Large     # optional: yes/no, true/false, 1/0 (default: a column named "large_print")
    date_format: "%m/%d/%Y"  # optional; default ISO (1980-04-30)
    screening:               # optional: answers to the form's screening questions (yes/no/blank)
      pregnant: Pregnant
"""

from ._csv import CsvMapping, load_mapping
from ._fhir_out import (
    FORM_ID_SYSTEM,
    FormDocument,
    base_url_problem,
    bundle_entry,
    consent_resource,
    document_reference,
    mdm_t02,
    patient_reference,
    transaction_bundle,
    url_in,
)
from ._records import ImportedRecord, Records, read_records

__all__ = [
    "CsvMapping",
    "FORM_ID_SYSTEM",
    "FormDocument",
    "ImportedRecord",
    "Records",
    "base_url_problem",
    "bundle_entry",
    "consent_resource",
    "document_reference",
    "load_mapping",
    "mdm_t02",
    "patient_reference",
    "read_records",
    "transaction_bundle",
    "url_in",
]
