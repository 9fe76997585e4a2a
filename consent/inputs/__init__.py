"""What a clinic supplies for one form: the patient, the clinic, its products and fees, screening answers.

Build them in Python (``Patient(full_name=..., birth_date=date(...))``) or load them from JSON/YAML
with :func:`load_patient` / :func:`load_clinic`. Either way :func:`validate_inputs` runs before a
form is built and reports every problem at once.

Clinic text that prints on the form (fee items, refund policy, the product's source tissue and donor
screening, a purpose) is a :data:`Text`: one string, which is English, or text per language
(``{"en": "The product", "es": "El producto"}``). Names, addresses, phone numbers and lot numbers are
plain strings and are never translated.
"""

from .loaders import (
    FUTURE_USE,
    LANGUAGE_CODE,
    NCT_ID,
    TREATMENT_ID,
    US_STATES,
    Clinic,
    FeeSchedule,
    FeeSchedules,
    LanguageAssistance,
    LocalText,
    Minors,
    Patient,
    Procedure,
    Product,
    Provider,
    Screening,
    Study,
    Text,
    clinic_problems,
    fees_problems,
    language_assistance_problems,
    load_clinic,
    load_patient,
    load_screening,
    local_text,
    minors_problems,
    patient_problems,
    products_problems,
    read_data_file,
    structure,
    structure_problems,
    study_language_problems,
    study_problems,
    text_problems,
    validate_clinic,
    validate_inputs,
)

__all__ = [
    "FUTURE_USE",
    "LANGUAGE_CODE",
    "NCT_ID",
    "TREATMENT_ID",
    "US_STATES",
    "Clinic",
    "FeeSchedule",
    "FeeSchedules",
    "LanguageAssistance",
    "LocalText",
    "Minors",
    "Patient",
    "Procedure",
    "Product",
    "Provider",
    "Screening",
    "Study",
    "Text",
    "clinic_problems",
    "fees_problems",
    "language_assistance_problems",
    "load_clinic",
    "load_patient",
    "load_screening",
    "local_text",
    "minors_problems",
    "patient_problems",
    "products_problems",
    "read_data_file",
    "structure",
    "structure_problems",
    "study_language_problems",
    "study_problems",
    "text_problems",
    "validate_clinic",
    "validate_inputs",
]
