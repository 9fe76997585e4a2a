"""The values a clause's text is given (:func:`clause_context`): one namespace for each thing a clause may
name (``patient``, ``clinic``, ``provider``, ``treatment``, ``product``, ``fees``, ``study``, ``form``,
``approved``), data only, dates, amounts and counts written out for the form's locale. Used by
:mod:`consent.assemble.assembly` to fill in the clauses and by the check to try a clinic's clauses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .._jinja_data import template_data
from .._text import long_date, money, month_year, number
from ..approved_products import ApprovedProducts
from ..inputs.loaders import Clinic, Patient, Provider, Study, local_text
from ..library.loader import DEFAULT_LANGUAGE
from ..library.treatments import TreatmentSpec
from .clinic import ClinicTerms, FeeTerms, ProductTerms


def clause_context(
    treatment: TreatmentSpec, patient: Patient, clinic: Clinic, terms: ClinicTerms, date: dt.date, locale: str,
    *, approved: ApprovedProducts | None, language: str = DEFAULT_LANGUAGE,
) -> Mapping[str, Any]:
    """What clause text is given: data only (read-only mappings of text; see consent/_jinja_data.py).

    One namespace for each thing a clause may name, each made by a step below; dates, amounts and counts
    are written out for ``locale``, a study's own texts taken in ``language``."""
    return template_data({
        "patient": _patient_values(patient, locale),
        "clinic": _clinic_values(clinic),
        "provider": _provider_values(clinic.provider),
        "treatment": _treatment_values(treatment, terms),
        "product": _product_values(terms.product),
        "fees": _fee_values(terms.fees, locale),
        "study": _study_values(clinic.study, locale, language),
        "form": {"date": long_date(date, locale)},
        "approved": _approved_values(approved, locale),
    })


def _approved_values(approved: ApprovedProducts | None, locale: str) -> dict[str, Any] | None:
    """``approved.*``: the dated list of FDA-approved cell and gene products (templates/rules/
    approved-products.yaml): ``as_of`` (month and year, for "As of ..."), ``count``."""
    if approved is None:
        return None
    return {"as_of": month_year(approved.as_of, locale), "count": number(len(approved.products), locale)}


def _patient_values(patient: Patient, locale: str) -> dict[str, Any]:
    """``patient.*``: who the form is for."""
    return {
        "full_name": patient.full_name,
        "birth_date": long_date(patient.birth_date, locale),
        "mrn": patient.mrn,
    }


def _clinic_values(clinic: Clinic) -> dict[str, Any]:
    """``clinic.*``: how to reach the clinic, and its state (upper case)."""
    return {
        "name": clinic.name,
        "address": clinic.address,
        "phone": clinic.phone,
        "email": clinic.email,
        "after_hours_phone": clinic.after_hours_phone,
        "state": clinic.state.upper(),
    }


def _provider_values(provider: Provider) -> dict[str, Any]:
    """``provider.*``: who treats, and the line that names them with their credentials."""
    return {
        "name": provider.name,
        "credentials": provider.credentials,
        "line": f"{provider.name}, {provider.credentials}",
    }


def _treatment_values(treatment: TreatmentSpec, terms: ClinicTerms) -> dict[str, Any]:
    """``treatment.*``: the treatment file's words, with the purpose the clinic's terms give it."""
    return {
        "id": treatment.id,
        "name": treatment.name,
        "description": treatment.description,
        "purpose": terms.purpose,
        "purpose_from_clinic": terms.purpose != treatment.purpose,  # the clinic's products entry states it
        "route": treatment.route,
        "product": treatment.product,
        "session_length": treatment.session_length,
        "usual_sessions": treatment.usual_sessions,
        "steps": treatment.steps,
        "common_effects": treatment.common_effects,
        "rare_effects": treatment.rare_effects,
        "aftercare": treatment.aftercare,
        "urgent_signs": treatment.urgent_signs,
        "evidence": treatment.evidence,
    }


def _product_values(product: ProductTerms) -> dict[str, Any]:
    """``product.*``: the identity of the product the clinic uses for the treatment."""
    return {
        "maker": product.maker,
        "source_tissue": product.source_tissue,
        "donor_screening": product.donor_screening,
        "lot_number": product.lot_number,
    }


def _fee_values(fees: FeeTerms, locale: str) -> dict[str, Any]:
    """``fees.*``: the clinic's fee schedule for the treatment, amounts written out for ``locale``."""
    return {
        "per_session": money(fees.price_per_session, fees.currency, locale),
        "sessions": number(fees.planned_sessions, locale),
        "total": money(fees.total, fees.currency, locale),
        "currency": fees.currency,
        "refund_policy": fees.refund_policy,
    }


def _study_values(study: Study | None, locale: str, language: str) -> dict[str, Any] | None:
    """``study.*``: the clinic's study, its texts in ``language`` (None: the clinic lists no study)."""
    if study is None:
        return None
    return {
        "ind_number": study.ind_number,
        "ide_number": study.ide_number,
        "irb_name": study.irb_name,
        "protocol": study.protocol,
        "purpose": local_text(study.purpose, language),
        "duration": local_text(study.duration, language),
        "subjects": None if study.subjects is None else number(study.subjects, locale),
        "irb_contact": study.irb_contact,
        "clinicaltrials_gov": bool(study.clinicaltrials_gov),  # an applicable clinical trial
        "nct_id": study.nct_id,
        "future_use": study.future_use,
        **_study_lists(study, language),
    }


def _study_lists(study: Study, language: str) -> dict[str, tuple[str, ...]]:
    """``study.procedures`` (every one), ``study.procedures_experimental``, ``study.procedures_usual`` and
    ``study.samples``: the clinic's texts in ``language`` (a text missing in it was refused before)."""
    def texts(items: Any) -> tuple[str, ...]:
        return tuple(t for t in (local_text(i, language) for i in items) if t)

    procedures = study.procedures or ()
    return {
        "procedures": texts(p.what for p in procedures),
        "procedures_experimental": texts(p.what for p in procedures if p.experimental),
        "procedures_usual": texts(p.what for p in procedures if not p.experimental),
        "samples": texts(study.samples or ()),
    }
