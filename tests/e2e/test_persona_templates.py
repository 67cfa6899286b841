"""Persona tokens and per-persona content variants, through gRPC and the real worker on both databases:
a template reads `{{ persona.<persona>.<token> }}` (refused when no such persona or token) and carries
variants; a triggered event sends a member the first variant of theirs with the token's value, and a
non-member the default content with empty token values."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.personas.v1 import personas_service_pb2 as ppb
from server.domain.auth import Role
from tests.e2e.test_personas_audiences import set_up_personas
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure
from tests.support.yes_bank import add_customer, set_up_yes_bank

TEXT = "Hello {{ customer.id }}.{% if persona.globetrotter.offer_rate %} Travel at {{ persona.globetrotter.offer_rate }}.{% endif %}"  # noqa: E501


def email(subject: str, text: str) -> pb.MessageContent:
    return pb.MessageContent(email=pb.EmailContent(subject=subject, text=text))


async def test_a_member_gets_their_variant_and_token_a_non_member_the_default(server, settings, tenant,
                                                                              service_stubs, smtp_sink,
                                                                              provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        people = {"c1": (True, True, False), "c2": (True, False, False), "c3": (False, False, False)}
        for customer_id in people:
            await add_customer(service_stubs, bank.app, customer_id, email=f"{customer_id}@example.com",
                               phone="", push_token="")
        await set_up_personas(server, tenant, service_stubs, people, upsert_customers=False)
        persona = await admin.personas.UpdatePersona(ppb.UpdatePersonaRequest(
            persona=ppb.Persona(name="personas/globetrotter", tokens={"offer_rate": "4.5%"}),
            update_mask=field_mask_pb2.FieldMask(paths=["tokens"])))
        assert dict(persona.tokens) == {"offer_rate": "4.5%"}
        assert (await failure(admin.personas.UpdatePersona(ppb.UpdatePersonaRequest(
            persona=ppb.Persona(name="personas/saver", tokens={"Bad-Name": "x"}),
            update_mask=field_mask_pb2.FieldMask(paths=["tokens"])))))[:2] == \
            (grpc.StatusCode.INVALID_ARGUMENT, "PERSONA_INVALID")

        # The catalogue holds the bank's persona tokens, and variants name its personas.
        for content, variants in (
                (email("Hi", "{{ persona.globetrotter.no_such_token }}"), []),
                (email("Hi", "{{ persona.nobody.offer_rate }}"), []),
                (email("Hi", "Hi"), [pb.ContentVariant(persona="personas/nobody", content=email("x", "y"))])):
            assert (await failure(admin.engagement.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
                display_name="bad", channel=pb.CHANNEL_EMAIL, content=content, variants=variants)))))[:2] == \
                (grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_INVALID")

        template = await admin.engagement.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
            display_name="Offer", channel=pb.CHANNEL_EMAIL, content=email("An offer", TEXT), variants=[
                pb.ContentVariant(persona="personas/saver", content=email(
                    "For savers", "Save more, {{ customer.id }}. {{ persona.globetrotter.offer_rate }}")),
                pb.ContentVariant(persona="personas/globetrotter", content=email("For travellers", TEXT))])))
        assert [v.persona for v in template.variants] == ["personas/saver", "personas/globetrotter"]
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Offer", description="an offer", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, template=template.name)])))
        assert len(event.messages[0].variants) == 2

        for customer_id in people:
            await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(event=event.name,
                                                                               customer_id=customer_id))
        await run_worker(settings)
        sent = {m["To"].split("@")[0]: (m["Subject"], m.get_payload().strip())
                for m in await smtp_sink.wait_for(3)}
        # A batch picks the same content, its memberships read once for all its triggers.
        await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[
            pb.TriggerEventRequest(event=event.name, customer_id=c) for c in ("c3", "c2")]))
        await run_worker(settings)
        batch = {m["To"].split("@")[0]: (m["Subject"], m.get_payload().strip())
                 for m in (await smtp_sink.wait_for(5))[3:]}
    # c1 is a saver and a globetrotter: the first variant in the template's order is theirs.
    assert sent == {"c1": ("For savers", "Save more, c1. 4.5%"),
                    "c2": ("For travellers", "Hello c2. Travel at 4.5%."),
                    "c3": ("An offer", "Hello c3.")}
    assert batch == {c: sent[c] for c in ("c2", "c3")}
