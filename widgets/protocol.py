"""The decision protocol: what operators should do and when, one tap from override and escalate.

The station config may carry its own text (`station.decision_protocol`); otherwise a default
written for operators is filled in with the named people of the playbook. Pure text, no Qt.
"""

from __future__ import annotations

from console.config import Config


def decision_protocol(config: Config) -> str:
    """The protocol as plain text (paragraphs separated by blank lines)."""
    if config.station.decision_protocol.strip():
        return config.station.decision_protocol.strip()
    p = config.people
    return f"""TRUST THE MODEL when model health is OK and no chart is framed in amber. Check one part in fifty by eye as usual.

WATCH when health says "watch" or a chart badge says "watch": keep trusting the model, but look closer at the parts of that kind and override every one you see wrong.

OVERRIDE a part when you can see that its class is wrong. Tap the part, tap the right class, tap the reason. Use "image unclear" when you cannot tell from the picture: that is useful too.

ESCALATE (F3) when:
- a chart stays amber or a drift alarm is raised and you cannot see why (lamp, lens, part change),
- you override more than about 1 part in 20,
- a camera or data source is lost for more than a few minutes,
- anything looks wrong and you are not sure. Escalating early is never wrong.

SWITCH TO FALLBACK (manual inspection) when the shift lead or the control owner says so, or when the model is clearly wrong and nobody can be reached.

WHO TO CALL
- Input drift, wrong classifications: {p.model_owner} (model owner)
- Missing or stuck data, rejected lines: {p.data_owner} (data owner)
- Fallback link to the PLC: {p.control_owner} (control owner)
- Line stopped, source lost, anything else: {p.operations_lead} (operations lead)
- Product questions: {p.product_owner} (product owner)
- Responsible person (EU AI Act): {p.responsible_person}
"""
