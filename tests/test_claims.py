"""The forbidden-claims rules of ``consent check``: the rules file, the engine, and seed 004."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import EXAMPLES, build_tree

from consent.check import check
from consent.check._claim_text import known_words, normalize
from consent.check._claims import ClaimRule, load_rules, scan, split_sentences
from consent.cli import main
from consent.library.loader import get_library

RULES_FILE = Path(__file__).resolve().parents[1] / "templates" / "rules" / "claims.yaml"
SEED_004 = Path(__file__).resolve().parent / "data" / "claims" / "seed-004-excerpt.txt"  # origin: data/claims/README.md


@pytest.fixture(scope="module")
def rules() -> tuple[ClaimRule, ...]:
    return load_rules(RULES_FILE.read_text(encoding="utf-8"), "templates/rules/claims.yaml")


def flagged_by(text: str, rules: tuple[ClaimRule, ...], language: str = "en") -> list[str]:
    return [hit.rule.id for hit in scan(text, rules, language)]


# Each sentence must be flagged by exactly this rule, once.
FLAGGED = [
    ("claim.fda-approved", "Our exosomes are FDA-approved."),
    ("claim.fda-approved", "This treatment is FDA approved for knee pain."),
    ("claim.fda-approved", "The product was approved by the FDA in 2021."),
    ("claim.fda-approved", "It has been approved by the United States Food and Drug Administration."),
    ("claim.fda-approved", "Our lab received FDA approval last year."),
    ("claim.fda-approved", "The FDA has approved this treatment."),
    ("claim.fda-approved", "We use only FDA-certified exosomes."),
    ("claim.fda-cleared", "The exosome serum is FDA-cleared."),
    ("claim.fda-cleared", "It was cleared by the FDA for hair growth."),
    ("claim.fda-cleared", "The product has FDA clearance."),
    ("claim.fda-registered", "Our laboratory is FDA-registered, so you can trust it."),
    ("claim.fda-registered", "The product is registered with the FDA."),
    ("claim.fda-registered", "Our exosomes come from an FDA registered tissue bank."),
    ("claim.fda-compliant", "Our lab is FDA compliant."),
    ("claim.fda-compliant", "We follow all FDA guidelines."),
    ("claim.fda-compliant", "The product is made in compliance with FDA regulations."),
    ("claim.fda-compliant", "Our exosomes are regulated by the appropriate authorities."),
    ("claim.not-regulated", "Exosomes are not drugs."),
    ("claim.not-regulated", "Exosome products are not regulated by the FDA."),
    ("claim.not-regulated", "Exosomes aren't considered drugs."),
    ("claim.not-regulated", "This treatment is not subject to FDA rules."),
    ("claim.not-regulated", "Exosomes do not need FDA approval."),
    ("claim.not-regulated", "These products are exempt from FDA approval."),
    ("claim.cure", "Exosome therapy cures arthritis."),
    ("claim.cure", "Many patients were cured of hair loss."),
    ("claim.cure", "It is a cure for knee pain."),
    ("claim.cure", "It is not surgery, but it cures arthritis."),
    ("claim.guarantee", "We guarantee results."),
    ("claim.guarantee", "The clinic guarantees that your pain will go away."),
    ("claim.guarantee", "Results are guaranteed."),
    ("claim.guarantee", "We promise you will see new hair in three months."),
    ("claim.proven", "Exosome therapy is clinically proven."),
    ("claim.proven", "Studies prove that exosomes ease knee pain."),
    ("claim.no-side-effects", "This treatment has no side effects."),
    ("claim.no-side-effects", "Enjoy results without any side effects."),
    ("claim.no-side-effects", "The injection is side-effect free."),
    ("claim.no-side-effects", "No pain, no side effects, no downtime."),
    ("claim.no-risk", "The injection is risk-free."),
    ("claim.no-risk", "Risk Free treatment for your knees!"),
    ("claim.no-risk", "There is no risk."),
    ("claim.no-risk", "Exosome therapy carries zero risk of rejection."),
    ("claim.absolutely-safe", "Exosomes are 100% safe."),
    ("claim.absolutely-safe", "The procedure is completely safe."),
    ("claim.absolutely-safe", "Our exosomes are totally natural and safe."),
    ("claim.safe-and-effective", "Exosome therapy is safe and effective."),
    ("claim.safe-and-effective", "Exosomes are safe and beneficial for most patients."),
    ("claim.minimizing-risk", "The probability of a negative reaction is infinitesimally small."),
    ("claim.minimizing-risk", "No serious side effects have been reported."),
    ("claim.minimizing-risk", "The risk of infection is virtually zero."),
    ("claim.minimizing-risk", "Patients typically have minimal adverse effects."),
    ("claim.minimizing-risk", "There is virtually no risk of infection."),
    ("claim.minimizing-risk", "The chance of infection is extremely low."),
    ("claim.minimizing-risk", "This treatment carries minimal risk."),
    ("claim.hype", "Exosomes are a miracle for tired joints."),
    ("claim.hype", "Some call exosomes liquid gold."),
    ("claim.hype", "This revolutionary treatment is here."),
    ("claim.hype", "Exosome therapy is a game changer."),
    ("claim.hype", "A game-changing therapy for your knees."),
    ("claim.infection-as-working", "Feeling unwell after treatment is a sign that the exosomes are working."),
    ("claim.infection-as-working", "Fever is part of the healing process."),
    ("claim.infection-as-working", "Flu-like symptoms are a good sign."),
    ("claim.infection-as-working", "Fatigue means the exosomes are working."),
    ("claim.waiver", "By signing, you waive your right to sue."),
    ("claim.waiver", "You waive any and all claims against the clinic."),
    ("claim.waiver", "You give up all legal claims against the clinic."),
    ("claim.waiver", "This form is a liability waiver."),
    ("claim.release-liability", "You release the clinic and its staff from all liability."),
    ("claim.release-liability", "You agree to hold the clinic and its doctors harmless."),
    ("claim.release-liability", "You agree to indemnify the clinic."),
    ("claim.release-liability", "I release Dr. Smith and the clinic from any and all liability."),
    ("claim.release-liability", "The clinic is not responsible for any complications."),
    ("claim.no-suit", "You agree not to sue the clinic."),
    ("claim.no-suit", "I will not sue the provider."),
    ("claim.no-suit", "You won't take legal action against us."),
    ("claim.non-refundable", "Payment is non-refundable regardless of outcome."),
    ("claim.non-refundable", "All fees are nonrefundable."),
    ("claim.non-refundable", "No refunds will be given."),
    ("claim.non-refundable", "Payment is due in full regardless of the results."),
    ("claim.regenerate", "Exosome shots rebuild the cartilage in your knee."),
    ("claim.regenerate", "Your damaged tissue will be repaired."),
    ("claim.regenerate", "Expect new hair to come in within weeks."),
    ("claim.works-for-everyone", "Our injections work for every patient."),
    ("claim.works-for-everyone", "All our patients see results."),
    ("claim.reverse-aging", "This infusion reverses the signs of aging."),
    ("claim.reverse-aging", "Stop aging with monthly infusions."),
    ("claim.natural-safe", "Exosomes are natural, so they are harmless."),
    # loopholes: a nearby approved drug, a negation in another thought
    ("claim.fda-approved", "Unlike minoxidil, our exosomes are FDA approved."),
    ("claim.fda-approved", "We do not hide that our exosomes are FDA approved."),
    ("claim.fda-approved", "No downtime and FDA approved."),
    ("claim.fda-approved", "Other products are not approved, ours is FDA approved."),
    ("claim.fda-approved", "Ours is not just safe, it is FDA approved."),
    ("claim.fda-approved", "The FDA has approved our exosomes, and so are steroids."),
    ("claim.fda-approved", "Unlike other clinics, we do not hide it: our exosomes are FDA approved."),
    ("claim.fda-approved", "Our exosomes are not only safe but FDA-approved."),
    ("claim.fda-approved", "Like finasteride, our scalp serum has FDA approval."),
    # misspellings
    ("claim.guarantee", "Results are gauranteed."),
    ("claim.absolutely-safe", "It is totaly safe."),
    ("claim.fda-approved", "Our serum is FDA-aproved."),
    ("claim.no-side-effects", "There are no side affects."),
    ("claim.hype", "A revolutionairy treatment."),
]

# A sentence that makes two claims is flagged by both rules, in text order.
TWO_CLAIMS = [
    (["claim.proven", "claim.regenerate"], "Studies prove that exosomes regrow cartilage."),
    (["claim.hype", "claim.regenerate"], "This revolutionary treatment regrows hair."),
]

# Honest negations and innocent sentences: no rule may flag them. The rule named is the one
# whose wording they are closest to.
HONEST = [
    ("claim.fda-approved", "This treatment is not approved by the FDA."),
    (
        "claim.fda-approved",
        "Exosome products have not been approved by the United States Food and Drug Administration.",
    ),
    ("claim.fda-approved", "No exosome product is FDA approved."),
    ("claim.fda-approved", "The product is not FDA-approved for any use."),
    ("claim.fda-approved", "FDA has not approved any exosome product."),
    ("claim.fda-approved", "The FDA has approved no exosome product for any use."),
    ("claim.fda-approved", "FDA approval has not been given for this product."),
    (
        "claim.fda-approved",
        "The only FDA-approved stem-cell products are blood-forming stem cells from cord blood.",
    ),
    ("claim.fda-approved", "Ask your provider whether the product is FDA approved."),
    ("claim.fda-approved", "Selling such a product requires FDA approval."),
    ("claim.fda-approved", "Finasteride, a pill the FDA has approved for hair loss in men."),
    ("claim.fda-approved", "The FDA has approved minoxidil for hair loss."),
    (
        "claim.fda-approved",
        "The clinic does not claim that this treatment is risk-free, proven or FDA approved.",
    ),
    ("claim.fda-approved", "A product like this may not be sold until it gets FDA approval."),
    ("claim.fda-approved", "FDA approval is required before such a product can be sold."),
    (
        "claim.fda-approved",
        "THIS NOTICE MUST BE PROVIDED TO YOU UNDER CALIFORNIA LAW. This health care practitioner performs "
        "one or more stem cell therapies that have not been approved by the United States Food and Drug "
        "Administration.",
    ),
    (
        "claim.fda-approved",
        "This therapy has not yet been approved by the U.S. Food and Drug Administration.",
    ),
    ("claim.fda-cleared", "The product has not been cleared by the FDA."),
    ("claim.fda-cleared", "It is neither approved nor cleared by the FDA."),
    ("claim.fda-registered", "Being registered with FDA does not mean it is approved."),
    ("claim.fda-registered", "FDA registration is not the same as approval."),
    (
        "claim.fda-registered",
        "A product may be registered with the FDA, or listed on ClinicalTrials.gov, and still not be "
        "approved.",
    ),
    (
        "claim.fda-registered",
        "A product listed in an FDA database or on ClinicalTrials.gov is not necessarily approved or lawful.",
    ),
    ("claim.fda-compliant", "This product has not been shown to meet FDA requirements."),
    ("claim.fda-compliant", "Exosome products are regulated by FDA as drugs."),
    (
        "claim.not-regulated",
        "Some clinics claim that exosomes are not regulated as drugs; FDA says that is wrong.",
    ),
    ("claim.not-regulated", "Exosome products are regulated as drugs."),
    ("claim.not-regulated", "This is not an FDA-approved drug."),
    ("claim.not-regulated", "These products are not exempt from FDA rules."),
    ("claim.cure", "This is not a cure."),
    ("claim.cure", "There is no cure for osteoarthritis."),
    ("claim.cure", "This treatment cannot cure arthritis."),
    ("claim.cure", "A cure is not possible with this treatment."),
    ("claim.cure", "There is no evidence that it cures hair loss."),
    ("claim.cure", "We will not treat you until an infection is cured."),
    ("claim.guarantee", "We cannot guarantee results."),
    ("claim.guarantee", "Results are not guaranteed."),
    ("claim.guarantee", "There is no guarantee that the treatment will help."),
    ("claim.guarantee", "We do not promise any result."),
    ("claim.guarantee", "Early results are promising but unproven."),
    ("claim.guarantee", "You promise to follow the aftercare instructions."),
    ("claim.proven", "This treatment is unproven."),
    ("claim.proven", "It has not been proven to work."),
    ("claim.proven", "There is no proven benefit for knee pain."),
    ("claim.proven", "Alternatives with proven benefit include physical therapy and weight loss."),
    ("claim.no-side-effects", "This does not mean there are no side effects."),
    ("claim.no-side-effects", "If you have no side effects, you may go back to work the next day."),
    ("claim.no-side-effects", "Every treatment has side effects."),
    ("claim.no-risk", "No treatment is risk-free."),
    ("claim.no-risk", "This treatment is not risk-free."),
    ("claim.no-risk", "There is no risk-free option."),
    ("claim.no-risk", "No medical procedure is completely risk free."),
    ("claim.no-risk", "There is no risk of losing your regular care if you say no."),
    ("claim.absolutely-safe", "No treatment is 100% safe."),
    ("claim.absolutely-safe", "Nothing in medicine is completely safe."),
    ("claim.absolutely-safe", "It is completely safe to stop the treatment at any time."),
    ("claim.safe-and-effective", "This treatment has not been shown to be safe and effective."),
    ("claim.safe-and-effective", "Studies are needed to learn whether it is safe and effective."),
    ("claim.safe-and-effective", "FDA has not found any exosome product safe and effective."),
    ("claim.minimizing-risk", "The risk of infection is not negligible."),
    ("claim.minimizing-risk", "The risk of serious harm is not zero."),
    ("claim.minimizing-risk", "This treatment carries more than minimal risk."),
    ("claim.minimizing-risk", "Serious side effects are rare, but they can happen."),
    ("claim.hype", "Exosomes are not a miracle treatment."),
    ("claim.hype", "Some clinics call exosomes liquid gold; that is marketing, not evidence."),
    ("claim.infection-as-working", "Fever or chills can be signs of infection; call us at once."),
    ("claim.infection-as-working", "Feeling unwell is not a sign that the treatment is working."),
    ("claim.infection-as-working", "Pain that lasts may be a sign that the treatment is not working."),
    ("claim.infection-as-working", "Please sign this form before the treatment starts."),
    ("claim.waiver", "You do not waive any legal rights by signing this form."),
    ("claim.waiver", "You do not give up your rights."),
    ("claim.waiver", "Nothing in this form waives your rights."),
    ("claim.waiver", "The clinic may waive the fee for the follow-up visit."),
    (
        "claim.release-liability",
        "Signing this form does not release the clinic from liability for negligence.",
    ),
    ("claim.release-liability", "Exosomes are released from cells into the fluid around them."),
    (
        "claim.release-liability",
        "Nothing in this form takes away your legal rights or releases the clinic from responsibility "
        "for negligence.",
    ),
    ("claim.no-suit", "Signing this form does not mean you agree not to sue."),
    ("claim.no-suit", "You keep your right to sue."),
    ("claim.non-refundable", "Your deposit is fully refundable if you cancel 48 hours ahead."),
    ("claim.non-refundable", "We do not charge a non-refundable deposit."),
    ("claim.non-refundable", "Regardless of the cause of the bleeding disorder, screening is recommended."),
    ("claim.regenerate", "No study shows that exosomes regrow cartilage."),
    ("claim.regenerate", "Researchers hope exosomes might one day help repair tissue."),
    ("claim.regenerate", "In lab studies, exosomes repaired damaged cells."),
    ("claim.works-for-everyone", "It does not work for everyone."),
    ("claim.reverse-aging", "There is no proof that it slows aging."),
    ("claim.natural-safe", "Being natural does not make a product safe."),
    ("claim.fda-approved", "The FDA has approved Ryoncil only for a rare condition in children."),
    ("claim.fda-approved", "No exosome or stem-cell product of this kind is approved by the FDA."),
    ("claim.fda-approved", "Exosome products have not been tested and approved by the FDA."),
    ("claim.fda-approved", "There is no exosome product that the FDA has approved."),
    ("claim.cure", "Care after the shot is simple."),
    ("claim.guarantee", "The hairless patches may not change."),
]

# The same rules in Spanish: each sentence flagged by exactly this rule, once, in a Spanish form.
FLAGGED_ES = [
    ("claim.fda-approved", "El producto fue aprobado por la FDA el año pasado."),
    ("claim.fda-approved", "Tiene el visto bueno de la FDA."),
    ("claim.fda-approved", "El producto esta aprovado por la F.D.A."),
    ("claim.fda-cleared", "Nuestro suero tiene autorización 510(k)."),
    ("claim.fda-registered", "El laboratorio está inscrito ante la FDA."),
    ("claim.fda-compliant", "El producto cumple con los requisitos de la FDA."),
    ("claim.not-regulated", "Los exosomas no se consideran medicamentos."),
    ("claim.cure", "Este tratamiento cura la calvicie."),
    ("claim.guarantee", "Garantizamos que su dolor desaparecerá."),
    ("claim.guarantee", "Resultados garantisados."),
    ("claim.proven", "Es un tratamiento científicamente comprobado."),
    ("claim.regenerate", "Los exosomas reconstruyen el cartílago de la rodilla."),
    ("claim.works-for-everyone", "Este tratamiento ayuda a todos."),
    ("claim.reverse-aging", "La infusión detiene el envejecimiento."),
    ("claim.no-side-effects", "Un tratamiento sin efectos secundarios."),
    ("claim.no-risk", "No hay ningún riesgo."),
    ("claim.absolutely-safe", "Es completamente seguro."),
    ("claim.natural-safe", "Es un producto natural, así que no le puede hacer daño."),
    ("claim.safe-and-effective", "El tratamiento es seguro y efectivo."),
    ("claim.minimizing-risk", "La probabilidad de una reacción es mínima."),
    ("claim.hype", "Los exosomas son el oro líquido de la medicina."),
    ("claim.infection-as-working", "Sentirse mal es parte del proceso de curación."),
    ("claim.waiver", "Usted renuncia a todos sus derechos legales."),
    ("claim.release-liability", "El paciente exonera al médico de toda responsabilidad."),
    ("claim.no-suit", "Usted acepta no demandar a la clínica."),
    ("claim.non-refundable", "El pago no es reembolsable."),
]

HONEST_ES = [
    ("claim.fda-approved", "Este producto no ha sido aprobado por la FDA."),
    ("claim.fda-approved", "La FDA aprobó el minoxidil para la caída del cabello."),
    ("claim.fda-cleared", "La FDA no ha dado ninguna autorización 510(k) para este producto."),
    ("claim.fda-registered", "Estar registrado ante la FDA no significa estar aprobado."),
    ("claim.fda-compliant", "No sabemos si el laboratorio cumple con las normas de la FDA."),
    ("claim.not-regulated", "Es falso que los exosomas no sean medicamentos."),
    ("claim.cure", "Este tratamiento no cura la artritis."),
    ("claim.cure", "El moretón se cura solo en unos días."),
    ("claim.guarantee", "No hay ninguna garantía de resultados."),
    ("claim.proven", "Su beneficio no está comprobado."),
    ("claim.regenerate", "Algunas personas esperan que ayude a reparar el tejido."),
    ("claim.works-for-everyone", "No funciona para todos."),
    ("claim.reverse-aging", "Este tratamiento no detiene el envejecimiento."),
    ("claim.no-side-effects", "Ningún tratamiento está libre de efectos secundarios."),
    ("claim.no-risk", "No existe un tratamiento sin riesgos."),
    ("claim.absolutely-safe", "Ningún medicamento es totalmente seguro."),
    ("claim.absolutely-safe", "Su seguro médico tal vez no pague este tratamiento."),
    ("claim.natural-safe", "Ser natural no hace que un producto sea seguro."),
    ("claim.safe-and-effective", "Todavía no se sabe si es seguro y eficaz."),
    ("claim.minimizing-risk", "El riesgo de una infección grave no es cero."),
    ("claim.hype", "Este tratamiento no es un milagro."),
    ("claim.infection-as-working", "Sentirse mal no es parte del proceso de sanación."),
    ("claim.waiver", "Usted no renuncia a sus derechos al firmar."),
    ("claim.release-liability", "Este formulario no exime a la clínica de su responsabilidad."),
    ("claim.no-suit", "Firmar no significa que acepta no demandar."),
    ("claim.non-refundable", "Le devolvemos el depósito si cancela a tiempo."),
]


@pytest.mark.parametrize(("rule_id", "sentence"), FLAGGED)
def test_claim_is_flagged_by_its_rule(rules: tuple[ClaimRule, ...], rule_id: str, sentence: str) -> None:
    """A forbidden claim, in any inflection or spelling, is flagged once, by its own rule only."""
    assert flagged_by(sentence, rules) == [rule_id]


@pytest.mark.parametrize(("rule_id", "sentence"), HONEST)
def test_honest_sentence_is_not_flagged(rules: tuple[ClaimRule, ...], rule_id: str, sentence: str) -> None:
    """An honest negation ("is not approved by the FDA") or an innocent use of a word is not flagged."""
    assert flagged_by(sentence, rules) == []


@pytest.mark.parametrize(("rule_ids", "sentence"), TWO_CLAIMS)
def test_two_claims_in_one_sentence(rules: tuple[ClaimRule, ...], rule_ids: list[str], sentence: str) -> None:
    """A sentence that promises proof (or hypes) and regrowth is flagged by both rules."""
    assert flagged_by(sentence, rules) == rule_ids


@pytest.mark.parametrize(("rule_id", "sentence"), FLAGGED_ES)
def test_spanish_claim_is_flagged_by_its_rule(
    rules: tuple[ClaimRule, ...], rule_id: str, sentence: str
) -> None:
    """Every rule reads Spanish: a claim in a Spanish form is flagged once, by its own rule."""
    assert flagged_by(sentence, rules, "es") == [rule_id]


@pytest.mark.parametrize(("rule_id", "sentence"), HONEST_ES)
def test_spanish_honest_sentence_is_not_flagged(
    rules: tuple[ClaimRule, ...], rule_id: str, sentence: str
) -> None:
    """Spanish negations ("no", "ningún", "sin", "no quiere decir") are honest, read with both languages."""
    assert flagged_by(sentence, rules, "es") == []


def test_every_rule_has_flagged_and_honest_examples(rules: tuple[ClaimRule, ...]) -> None:
    """The tables above cover every rule in the file, both ways, in English and in Spanish (the Chinese
    patterns are tried in tests/test_chinese.py)."""
    ids = {rule.id for rule in rules}
    assert {rule_id for rule_id, _ in FLAGGED} == ids
    assert {rule_id for rule_id, _ in HONEST} == ids
    assert {rule_id for rule_id, _ in FLAGGED_ES} == ids
    assert {rule_id for rule_id, _ in HONEST_ES} == ids
    assert all(rule.languages == ("en", "es", "zh-Hans") for rule in rules)  # Chinese: tests/test_chinese.py


def test_rules_file(rules: tuple[ClaimRule, ...]) -> None:
    """The built-in rules, their severities; only the payment rule is a warning a clinic may acknowledge."""
    assert [(rule.id, rule.severity, rule.acknowledgeable) for rule in rules] == [
        ("claim.fda-approved", "error", False),
        ("claim.fda-cleared", "error", False),
        ("claim.fda-registered", "error", False),
        ("claim.fda-compliant", "error", False),
        ("claim.not-regulated", "error", False),
        ("claim.cure", "error", False),
        ("claim.guarantee", "error", False),
        ("claim.proven", "error", False),
        ("claim.regenerate", "error", False),
        ("claim.works-for-everyone", "error", False),
        ("claim.reverse-aging", "error", False),
        ("claim.no-side-effects", "error", False),
        ("claim.no-risk", "error", False),
        ("claim.absolutely-safe", "error", False),
        ("claim.natural-safe", "error", False),
        ("claim.safe-and-effective", "error", False),
        ("claim.minimizing-risk", "error", False),
        ("claim.hype", "error", False),
        ("claim.infection-as-working", "error", False),
        ("claim.waiver", "error", False),
        ("claim.release-liability", "error", False),
        ("claim.no-suit", "error", False),
        ("claim.non-refundable", "warning", True),
    ]
    assert all(rule.title and "\n" not in rule.title for rule in rules)


def test_hits_come_in_text_order_with_offsets(rules: tuple[ClaimRule, ...]) -> None:
    """scan() reports each hit with its sentence and the offset of the matched words in the text."""
    text = (
        "Key information\n\n"
        "This treatment is not approved by the FDA. It is risk-free; results are guaranteed.\n"
        "- Payment is non-refundable.\n"
    )
    hits = scan(text, rules)
    assert [(hit.rule.id, hit.match, hit.sentence) for hit in hits] == [
        ("claim.no-risk", "risk-free", "It is risk-free; results are guaranteed."),
        ("claim.guarantee", "guaranteed", "It is risk-free; results are guaranteed."),
        ("claim.non-refundable", "non-refundable", "Payment is non-refundable."),
    ]
    assert all(text[hit.start : hit.end] == hit.match for hit in hits)


def test_negation_does_not_reach_past_a_clause_or_a_window(rules: tuple[ClaimRule, ...]) -> None:
    """A "not" in another clause, or far before the claim, does not excuse it."""
    assert flagged_by("It is not surgery; it cures arthritis.", rules) == ["claim.cure"]
    assert flagged_by("We do not take insurance, however our exosomes are FDA approved.", rules) == [
        "claim.fda-approved"
    ]
    far = "Do not eat or drink for two hours before the visit because the product is FDA approved."
    assert flagged_by(far, rules) == ["claim.fda-approved"]
    denied_then_claimed = "We do not claim that it works, but it is FDA approved."
    assert flagged_by(denied_then_claimed, rules) == ["claim.fda-approved"]



@pytest.mark.parametrize(("language", "text", "expected"), [
    ("en", "Is this treatment approved by the F.D.A.? Yes, and we are proud of it.", ["claim.fda-approved"]),
    ("en", "Side effects? None. Not even soreness.", ["claim.no-side-effects"]),
    ("en", "Any risk? No. None at all.", ["claim.no-risk"]),
    ("en", "Is it safe? Completely. One hundred percent.", ["claim.absolutely-safe"]),
    ("en", "Q: Does it work for all ages? A: Yes, young or old.", ["claim.works-for-everyone"]),
    ("es", "¿Está aprobado por la FDA? Sí, desde 2020.", ["claim.fda-approved"]),
    ("es", "¿Efectos secundarios? Ninguno.", ["claim.no-side-effects"]),
    ("en", "Can exosomes restore lost cartilage? In our experience, yes, that is what they do.", ["claim.regenerate"]),
    ("en", "Who benefits from our IV protocol? Everyone. Period.", ["claim.works-for-everyone"]),
    ("en", "Is there any danger? No. None at all.", ["claim.no-risk"]),
    ("en", "Side effects? None, and that's the beauty of exosomes.", ["claim.no-side-effects"]),
    ("es", "¿Seguro? Cien por ciento, siempre.", ["claim.absolutely-safe"]),
    ("es", "¿A quién le funciona? A todos, sin excepción.", ["claim.works-for-everyone"]),
    ("en", "Responsibility for any harm? That rests entirely with the patient.", ["claim.release-liability"]),
    # honest: the question answered no, a noun-phrase question answered with the facts, advice after it
    ("en", "Is this treatment FDA approved? No. It is investigational.", []),
    ("en", "Side effects? Yes: pain, swelling and infection.", []),
    ("en", "Is it safe? No treatment is completely safe.", []),
    ("en", "Is it risk-free? Nobody can say that.", []),
    ("en", "Risks? None are small enough to ignore.", []),
    ("es", "¿Es seguro? Si tiene fiebre, llame a la clínica.", []),
    ("en", "Who should not have this treatment? Anyone who is pregnant.", []),
    ("en", "Is there any risk? Yes: infection, bleeding and pain.", []),
    ("en", "Side effects? Pain and swelling are common, and infection can happen.", []),
])
def test_a_question_answered_at_once_claims_what_it_asked(rules: tuple[ClaimRule, ...], language: str, text: str,
                                                          expected: list[str]) -> None:
    """A question claims nothing, but answered yes (or "none", after a question that is only a noun
    phrase) it claims what it asked; the hit is the question and its answer, where they stand."""
    hits = scan(text, rules, language)
    assert [hit.rule.id for hit in hits] == expected
    for hit in hits:
        assert text[hit.start:hit.end] == hit.match and hit.match.startswith(text.split("?")[0][:10])

def test_split_sentences() -> None:
    """Sentences end at . ! ? and line breaks between headings and paragraphs, not at "U.S." or soft wraps."""
    text = (
        "Risks\n"
        "The U.S. Food and Drug Administration has not approved it. Is it safe? Nobody knows!\n"
        "\n"
        "- First item, e.g. swelling\n"
        "2) Second item. Next sentence.\n"
        "This line is long enough to be a soft-wrapped line of a paragraph and it\n"
        "Continues here after the wrap.\n"
    )
    sentences = split_sentences(text)
    assert [sentence for _, sentence in sentences] == [
        "Risks",
        "The U.S. Food and Drug Administration has not approved it.",
        "Is it safe?",
        "Nobody knows!",
        "First item, e.g. swelling",
        "Second item.",
        "Next sentence.",
        "This line is long enough to be a soft-wrapped line of a paragraph and it\n"
        "Continues here after the wrap.",
    ]
    assert all(text[offset : offset + len(sentence)] == sentence for offset, sentence in sentences)


# ------------------------------------------------------------------------------------- seed 004

# Every claim seed 004 (the excerpt kept in tests/data/claims) makes that REFERENCE.md section 4 forbids, checked by hand, in text order:
# (rule id, first 40 characters of the sentence).
SEED_004_HITS = [
    ("claim.hype", "A revolutionary new hair treatment that "),  # "revolutionary"
    ("claim.hype", "It is forecasted to be a game changer in"),  # "game changer"
    ("claim.minimizing-risk", "As a result of their standard dilution s"),  # "minimal adverse effects"
    ("claim.hype", "Exosome therapy, therefore, could potent"),  # "revolutionize the treatment"
    ("claim.safe-and-effective", "Exosomes are safe and beneficial for pat"),
    ("claim.infection-as-working", "One possible side effect of increased im"),  # malaise ~ immune activity
    (
        "claim.infection-as-working",
        "Hence, this is not a contraindication fo",
    ),  # "a sign that ... successful"
    (
        "claim.infection-as-working",
        "Only a healthcare provider can assess th",
    ),  # "desired beneficial pro-inflammatory"
    (
        "claim.infection-as-working",
        "It is the job of these silent sentinel c",
    ),  # "as designed, to make you feel unwell"
    (
        "claim.infection-as-working",
        "This should be monitored and is not a co",
    ),  # "not a reason not to undergo treatment"
    ("claim.infection-as-working", "It is an early indication that your trea"),  # "... is working normally"
    ("claim.hype", "If you are researching exosomes, you mig"),  # "liquid gold"
    (
        "claim.fda-compliant",
        "The conditions under which we capture yo",
    ),  # "regulated by the appropriate authorities"
    ("claim.minimizing-risk", "Because exosomes share a symbiotic relat"),  # "infinitesimally small"
    ("claim.cure", "We have had great success in reducing or"),  # "resolving conditions ... osteoarthritis"
    ("claim.minimizing-risk", "No serious side effects have been report"),
]


def test_seed_004_claims(rules: tuple[ClaimRule, ...]) -> None:
    """Seed 004's misleading statements are all flagged, and nothing else in it is."""
    text = SEED_004.read_text(encoding="utf-8")
    per_sentence = [
        (hit.rule.id, hit.sentence[:40])
        for _, sentence in split_sentences(text)
        for hit in scan(sentence, rules)
    ]
    whole = [(hit.rule.id, hit.sentence[:40]) for hit in scan(text, rules)]
    assert per_sentence == whole == SEED_004_HITS


# ------------------------------------------------------------------------------------ load_rules

VALID_RULE = """\
  - id: claim.example
    severity: error
    title: An example.
    patterns: ['\\bexample\\b']
"""


def test_load_rules_shared_fragments_and_defaults() -> None:
    """Shared fragments are reused through YAML aliases; unless and acknowledgeable are optional."""
    text = (
        "shared:\n"
        "  neg: &neg '\\bnot\\b'\n"
        "rules:\n"
        "  - id: claim.cure\n"
        "    severity: error\n"
        "    title: Do not say it cures.\n"
        "    patterns: ['\\bcures?\\b']\n"
        "    unless: [*neg]\n"
        "  - id: claim.refund\n"
        "    severity: warning\n"
        "    title: Say it plainly.\n"
        "    patterns: ['no\\s+refunds']\n"
        "    acknowledgeable: true\n"
    )
    cure, refund = load_rules(text, "pack.yaml")
    assert (cure.id, cure.severity, cure.acknowledgeable) == ("claim.cure", "error", False)
    assert [p.pattern for p in cure.unless["en"]] == ["\\bnot\\b"]  # a plain list is English
    assert refund.unless == {}
    assert refund.acknowledgeable is True
    assert [hit.match for hit in scan("It cures. It does not cure. NO REFUNDS.", (cure, refund))] == [
        "cures",
        "NO REFUNDS",
    ]


def test_load_rules_rejects_unknown_keys() -> None:
    """A misspelt key is an error, at the top and in a rule, and the rule's missing key is reported too."""
    text = (
        "rule:\n  - x\nrules:\n  - id: claim.example\n    severity: error\n    title: T\n    pattern: [x]\n"
    )
    with pytest.raises(ValueError) as excinfo:
        load_rules(text, "pack/claims.yaml")
    assert str(excinfo.value) == (
        "pack/claims.yaml: invalid claim rules (3 problems)\n"
        "  - pack/claims.yaml:1: rule: unknown top-level key 'rule' (allowed: rules, shared)\n"
        "  - pack/claims.yaml:4: rules[0]: unknown key 'pattern' in rule 'claim.example' "
        "(allowed: acknowledgeable, id, patterns, severity, spellings, title, unless)\n"
        "  - pack/claims.yaml:4: rules[0]: missing key 'patterns' in rule 'claim.example'"
    )


def test_load_rules_rejects_a_bad_regex() -> None:
    """A regex that does not compile is reported with its rule, its place and the regex error."""
    text = "rules:\n" + VALID_RULE + "    unless: ['(not']\n"
    with pytest.raises(ValueError) as excinfo:
        load_rules(text, "pack/claims.yaml")
    assert str(excinfo.value) == (
        "pack/claims.yaml: invalid claim rules (1 problem)\n"
        "  - pack/claims.yaml:6: rules[0].unless[0]: not a valid regular expression in rule "
        "'claim.example': missing ), unterminated subpattern at position 0 (got '(not')"
    )


def test_load_rules_rejects_duplicate_ids() -> None:
    """Two rules with one id are an error naming both places."""
    text = "rules:\n" + VALID_RULE + VALID_RULE
    with pytest.raises(ValueError) as excinfo:
        load_rules(text, "pack/claims.yaml")
    assert str(excinfo.value) == (
        "pack/claims.yaml: invalid claim rules (1 problem)\n"
        "  - pack/claims.yaml:6: rules[1].id: duplicate id 'claim.example' (already used by rules[0])"
    )


def test_load_rules_reports_every_problem_at_once() -> None:
    """Bad values of every kind in one file are all reported in one error."""
    text = (
        "shared:\n"
        "  neg: '[not'\n"
        "rules:\n"
        "  - id: Claim Cure\n"
        "    severity: fatal\n"
        "    title: ''\n"
        "    patterns: []\n"
        "    acknowledgeable: 'yes'\n"
        "  - id: claim.cure\n"
        "    severity: error\n"
        "    title: T\n"
        "    patterns: [x]\n"
        "    acknowledgeable: true\n"
        "  - just a string\n"
    )
    with pytest.raises(ValueError) as excinfo:
        load_rules(text, "pack.yaml")
    assert str(excinfo.value) == (
        "pack.yaml: invalid claim rules (8 problems)\n"
        "  - pack.yaml:2: shared.neg: not a valid regular expression: unterminated character set "
        "at position 0 (got '[not')\n"
        "  - pack.yaml:4: rules[0].id: must be lowercase words joined by '.' or '-', like "
        "'claim.fda-approved' (got 'Claim Cure')\n"
        "  - pack.yaml:5: rules[0].severity: must be 'error' or 'warning' in rule 'Claim Cure' "
        "(got 'fatal')\n"
        "  - pack.yaml:6: rules[0].title: must be one non-empty line of text in rule 'Claim Cure' (got '')\n"
        "  - pack.yaml:8: rules[0].acknowledgeable: must be true or false in rule 'Claim Cure' (got 'yes')\n"
        "  - pack.yaml:7: rules[0].patterns: must be a non-empty list of regexes in rule 'Claim Cure' "
        "(got an empty list)\n"
        "  - pack.yaml:13: rules[1].acknowledgeable: only a warning may be acknowledgeable in rule "
        "'claim.cure' (severity is 'error')\n"
        "  - pack.yaml:14: rules[2]: a rule must be a mapping (got 'just a string')"
    )


def test_load_rules_rejects_bad_yaml_and_duplicate_keys() -> None:
    """Unparsable YAML and a key given twice (which YAML would silently overwrite) are errors with a line."""
    with pytest.raises(ValueError) as excinfo:
        load_rules("rules: [\n", "pack.yaml")
    assert str(excinfo.value).startswith("pack.yaml:2: not valid YAML: ")
    with pytest.raises(ValueError) as excinfo:
        load_rules("rules:\n" + VALID_RULE + "    patterns: [y]\n", "pack.yaml")
    assert str(excinfo.value) == "pack.yaml:6: not valid YAML: duplicate key 'patterns'"


# ------------------------------------------------------------------------- languages and spelling


def test_misspelt_and_unaccented_claims_keep_their_original_words(rules: tuple[ClaimRule, ...]) -> None:
    """A hit found after correcting "garanteed" or folding accents names the words as written in the form."""
    text = (
        "Key information\n\nResults are garanteed. Su eficacia está clinicamente comprobada por la F.D.A.\n"
    )
    hits = scan(text, rules, "es")
    assert [(hit.rule.id, hit.match, hit.language) for hit in hits] == [
        ("claim.guarantee", "garanteed", "en"),
        ("claim.proven", "clinicamente comprobada", "es"),
    ]
    assert all(text[hit.start : hit.end] == hit.match for hit in hits)
    approved = scan("El suero esta aprovado por la F.D.A. desde 2020.", rules, "es")
    assert [(hit.rule.id, hit.match) for hit in approved] == [("claim.fda-approved", "aprovado por la F.D.A")]


def test_spelling_correction_leaves_real_words_and_short_words_alone() -> None:
    """Dictionary words ("cared", "hairless", "premise") and short words ("care") are never corrected."""
    targets = ["cures", "harmless", "promise", "guaranteed", "aprobado"]
    english = known_words("en")
    assert normalize("Care is cared for; hairless premise.", targets, english).text == (
        "Care is cared for; hairless premise."
    )
    assert normalize("It is garanteed, it curez.", targets, english).text == "It is guaranteed, it cures."
    # a typo in the first letter is not corrected ("prepara" is not "repara")
    assert normalize("El laboratorio prepara el producto aprovado.", ["repara", "aprobado"]).text == (
        "El laboratorio prepara el producto aprobado."
    )


def test_a_spanish_form_is_read_with_english_patterns_too(rules: tuple[ClaimRule, ...]) -> None:
    """English text in a Spanish form (a clinic's refund policy) is checked; Spanish words are not read as
    English ("que se cure" is "may it heal", not a claim)."""
    mixed = "Nuestra política de devolución: Payment is non-refundable regardless of outcome."
    assert flagged_by(mixed, rules, "es") == ["claim.non-refundable"]
    assert flagged_by("Hasta que la infección se cure, no le daremos el tratamiento.", rules, "es") == []
    assert flagged_by("Esperamos que le ayude, pero no sabemos si le cure.", rules, "es") == []


def test_spanish_abbreviations_do_not_end_a_sentence() -> None:
    """"EE. UU." and "Dra." are abbreviations, like "U.S."."""
    text = "La FDA (la Administración de Alimentos y Medicamentos de EE. UU.) decide. La Dra. Ruiz firma."
    assert [sentence for _, sentence in split_sentences(text)] == [
        "La FDA (la Administración de Alimentos y Medicamentos de EE. UU.) decide.",
        "La Dra. Ruiz firma.",
    ]


def test_load_rules_patterns_per_language() -> None:
    """patterns, unless and spellings take a list (English) or a mapping of language codes to lists."""
    text = (
        "rules:\n"
        "  - id: claim.cure\n"
        "    severity: error\n"
        "    title: Do not say it cures.\n"
        "    patterns:\n"
        "      en: ['\\bcures?\\b']\n"
        "      es: ['\\bcura\\b', 'curación']\n"
        "    unless:\n"
        "      es: ['\\bno\\b']\n"
        "    spellings:\n"
        "      es: [curativo]\n"
    )
    (cure,) = load_rules(text, "pack/claims-extra.yaml")
    assert cure.languages == ("en", "es")
    assert [p.pattern for p in cure.patterns["es"]] == ["\\bcura\\b", "curacion"]  # accents folded
    assert cure.unless == {"es": cure.unless["es"]} and cure.spellings == {"es": ("curativo",)}
    assert (cure.source, cure.line) == ("pack/claims-extra.yaml", 2)
    assert [hit.match for hit in scan("Es curativo. No cura. Una cura. It cures.", (cure,), "es")] == [
        "cura", "cures",
    ]
    assert [hit.match for hit in scan("Es curatibo.", (cure,), "es")] == []  # no es pattern says "curativo"


def test_load_rules_rejects_bad_language_tables() -> None:
    """A language key that is not a code, an empty list, unless or spellings for a language without
    patterns, and a spelling too short to correct safely are all reported at once."""
    text = (
        "rules:\n"
        "  - id: claim.cure\n"
        "    severity: error\n"
        "    title: T\n"
        "    patterns:\n"
        "      english: [x]\n"
        "      es: []\n"
        "      en: [y]\n"
        "    unless:\n"
        "      fr: [z]\n"
        "    spellings:\n"
        "      en: [cure]\n"
    )
    with pytest.raises(ValueError) as excinfo:
        load_rules(text, "pack.yaml")
    assert str(excinfo.value) == (
        "pack.yaml: invalid claim rules (4 problems)\n"
        "  - pack.yaml:6: rules[0].patterns.english: must be a language code like 'en' or 'es' in rule "
        "'claim.cure' (got 'english')\n"
        "  - pack.yaml:7: rules[0].patterns.es: must be a non-empty list of regexes in rule 'claim.cure' "
        "(got an empty list)\n"
        "  - pack.yaml:12: rules[0].spellings.en[0]: must be one word of 5 letters or more in rule "
        "'claim.cure' (got 'cure')\n"
        "  - pack.yaml:10: rules[0].unless.fr: has no patterns for 'fr' in rule 'claim.cure', so these are "
        "never used"
    )


# ------------------------------------------------------------------------------ packs in Spanish


def _pack_clause(version: str, body: str, translates: str | None = None) -> str:
    head = ["id: benefits"]
    if translates:
        head.append(f'translates: "{translates}"')
    else:
        head += [f'version: "{version}"', "elements: [benefits]"]
    head += ["title: Test clause", "body:"]
    return "\n".join(head + ["  " + line for line in textwrap.dedent(body).strip().splitlines()]) + "\n"


SPANISH_CLAIMS = [
    ("claim.fda-approved", "Nuestro producto está aprobado por la FDA."),
    ("claim.absolutely-safe", "Es 100 % seguro."),
    ("claim.no-risk", "Es un tratamiento sin riesgos."),
    ("claim.guarantee", "Le garantizamos resultados."),
    ("claim.cure", "Este tratamiento cura la artritis."),
    ("claim.waiver", "Usted renuncia a su derecho a demandar."),
    ("claim.release-liability", "Usted exime a la clínica de toda responsabilidad."),
]


@pytest.fixture
def spanish_pack(tmp_path: Path) -> Path:
    english = _pack_clause("9", "- p: We hope this treatment helps you. We cannot promise any result.")
    spanish = _pack_clause("9", "\n".join(f"- p: {text}" for _, text in SPANISH_CLAIMS), translates="9")
    files = {"clauses/benefits.yaml": english, "clauses/es/benefits.yaml": spanish}
    return build_tree(tmp_path / "pack", files)


def test_spanish_pack_clause_fails_check_in_spanish_only(spanish_pack: Path) -> None:
    """A Spanish clause that calls the product FDA-approved, 100 % safe, risk-free, guaranteed, a cure, or
    takes away the right to sue fails `check --language es`; the English form of the same pack passes."""
    report = check(["knee-injection"], packs=[spanish_pack], languages=["es"])
    claims = [(f.rule, f.text, f.language) for f in report.errors if f.rule.startswith("claim.")]
    assert claims == [(rule, text, "es") for rule, text in SPANISH_CLAIMS]
    assert all(f.clause == "benefits" and f.file and f.file.endswith("es/benefits.yaml")
               for f in report.errors if f.rule.startswith("claim."))
    english = check(["knee-injection"], packs=[spanish_pack], languages=["en"])
    assert not [f for f in english.errors if f.rule.startswith("claim.")]


def test_spanish_pack_clause_blocks_render(
    spanish_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`render --language es` refuses the form and writes nothing."""
    out = tmp_path / "out"
    argv = ["render", "knee-injection", "--patient", str(EXAMPLES / "patient-ada.yaml"), "--clinic",
            str(EXAMPLES / "clinic.yaml"), "--pack", str(spanish_pack), "--language", "es", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: the knee-injection form fails {len(SPANISH_CLAIMS)} compliance check(s)\n")
    assert "error claim.fda-approved [knee-injection/es] clause benefits" in err
    assert not out.exists()


def test_a_rule_without_patterns_for_a_language_is_reported(tmp_path: Path) -> None:
    """A pack rule written only in English (a plain list) warns when Spanish is checked, naming its file."""
    pack = build_tree(tmp_path / "pack", {"templates/rules/claims-extra.yaml": """
        rules:
          - id: claim.pack-example
            severity: error
            title: Do not call it a bargain.
            patterns: ['\\bbargain\\b']
    """})
    report = check(["hair"], packs=[pack], languages=["en", "es"])
    unchecked = [f for f in report.warnings if f.rule == "structure.claim-language-missing"]
    where = [(f.language, f.line, Path(f.file or "").name) for f in unchecked]
    assert where == [("es", 2, "claims-extra.yaml")]
    assert "claim rule 'claim.pack-example' has no 'es' patterns" in unchecked[0].message
    assert report.errors == ()
    assert main(["check", "hair", "--pack", str(pack), "--language", "es"]) == 0


def test_notice_translations_are_scanned(tmp_path: Path) -> None:
    """A Spanish courtesy translation of a state notice is checked for claims, in Spanish."""
    version = get_library().clauses["state-notice-wa"].version
    pack = build_tree(tmp_path / "pack", {"clauses/es/state-notice-wa.yaml": f"""
        id: state-notice-wa
        translates: "{version}"
        title: Aviso de Washington
        citation_gloss: Código Revisado de Washington, sección 18.130.420
        body:
          - p: Esta terapia está aprobada por la FDA y no tiene ningún riesgo.
    """})
    report = check(["hair"], packs=[pack], languages=["es"])
    found = sorted((f.rule, f.clause, f.language) for f in report.errors if f.rule.startswith("claim."))
    assert found == [
        ("claim.fda-approved", "state-notice-wa", "es"),
        ("claim.no-risk", "state-notice-wa", "es"),
    ]
