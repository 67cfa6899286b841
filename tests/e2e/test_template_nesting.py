"""Templates nested past what Jinja can parse and Python can compile are refused when saved, as
TEMPLATE_INVALID naming the part (they were INTERNAL: a RecursionError in the server), through every
call that saves message content; a template at the limit is saved and sends."""

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.domain.engagement.templates import MAX_NESTING
from tests.support.builders import failure
from tests.support.yes_bank import add_customer, set_up_yes_bank

DEEP = {
    "10,000 nested ifs": "{% if data.a %}" * 10_000 + "x" + "{% endif %}" * 10_000,
    "100,000 nested parentheses": "{{ " + "(" * 100_000 + "data.a" + ")" * 100_000 + " }}",
    "10,000 nested lists": "{{ " + "[" * 10_000 + "data.a" + "]" * 10_000 + " }}",
    "5,000 nots": "{{ " + "not " * 5_000 + "data.a }}",
    "5,000 additions": "{{ data.a" + " + data.a" * 5_000 + " }}",
    "2,000 filters": "{{ data.a" + " | upper" * 2_000 + " }}",
}
AT_THE_LIMIT = "{% if data.a %}" * (MAX_NESTING - 1) + "{{ (data.a) }}" + "{% endif %}" * (MAX_NESTING - 1)


def email(text: str) -> pb.MessageContent:
    return pb.MessageContent(email=pb.EmailContent(subject="Deep", text=text))


async def test_deeply_nested_templates_are_refused_where_content_is_saved(server, tenant, service_stubs,
                                                                          smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        template = await e.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
            display_name="Fine", channel=pb.CHANNEL_EMAIL, content=email("{{ data.a }}"))))
        event = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Fine", description="Not deep", event_type=bank.event_type, app=bank.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=email("{{ data.a }}"))])))
        for what, text in DEEP.items():
            calls = [
                ("template.content.email.text", e.CreateTemplate, pb.CreateTemplateRequest(
                    template=pb.Template(display_name="Deep", channel=pb.CHANNEL_EMAIL, content=email(text)))),
                ("template.content.email.text", e.UpdateTemplate, pb.UpdateTemplateRequest(
                    template=pb.Template(name=template.name, content=email(text)),
                    update_mask=FieldMask(paths=["content"]))),
                ("event.messages[0].content.email.text", e.CreateEvent, pb.CreateEventRequest(event=pb.Event(
                    display_name="Deep", description="Deep content", event_type=bank.event_type, app=bank.app,
                    messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=email(text))]))),
                ("event.messages[0].content.email.text", e.UpdateEvent, pb.UpdateEventRequest(
                    event=pb.Event(name=event.name, messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL,
                                                                              content=email(text))]),
                    update_mask=FieldMask(paths=["messages"]))),
            ]
            for field, method, request in calls:
                assert await failure(method(request)) == (grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_INVALID",
                                                          [field]), (what, field)

        # Nothing was changed by the refused updates, and a template at the limit is saved and sends.
        assert (await e.GetTemplate(pb.GetTemplateRequest(name=template.name))).content.email.text == "{{ data.a }}"
        at_limit = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="At the limit", description="Nested as deep as allowed", event_type=bank.event_type,
            app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=email(AT_THE_LIMIT))])))
        await add_customer(service_stubs, bank.app)
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=at_limit.name, customer_id="lisa-customer", data={"a": "deep"}))
        assert [d.state for d in sent.deliveries] == [pb.QUEUED]
