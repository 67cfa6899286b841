"""The reference's globetrotter loan (tests/unit/products/globetrotter.py) set up through gRPC: the
attributes and the persona it names, customers with their values, and the product's terms as JSON.

The reference's age is Engage's built-in `age`, which the store does not derive yet; the tests name
it `applicant_age`, a custom INT attribute they can set, with the same bounds."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.personas.v1 import personas_service_pb2 as ppb
from engage.products.v1 import products_service_pb2 as pb
from engage.type.v1 import money_pb2
from server.domain.products.codec import terms_to_json
from server.domain.products.conditions import NumberIn, Rule
from server.domain.products.terms import ProductTerms
from server.rpc.convert import money_to_proto
from tests.support.builders import customer
from tests.unit.products.globetrotter import TERMS

AGE = "applicant_age"


def _renamed_age(rule: Rule) -> Rule:
    return Rule(rule.name, tuple(NumberIn(AGE, c.interval) if isinstance(c, NumberIn) and c.attribute == "age" else c
                                 for c in rule.conditions))


REFERENCE_TERMS: ProductTerms = dataclasses.replace(TERMS, availability=tuple(_renamed_age(r)
                                                                             for r in TERMS.availability))


def terms_json(terms: ProductTerms = REFERENCE_TERMS) -> str:
    return json.dumps(terms_to_json(terms))


def eur(amount: str) -> money_pb2.Money:
    return money_to_proto(Decimal(amount), "EUR")


def _definition(name: str, type_: int, *values: str) -> ppb.CreateAttributeDefinitionRequest:
    return ppb.CreateAttributeDefinitionRequest(
        attribute_definition_id=name,
        attribute_definition=ppb.AttributeDefinition(type=type_, enum_values=list(values)))


async def define_pricing_attributes(admin) -> None:  # type: ignore[no-untyped-def]
    """The attributes the reference's rules and lists test, but IsGlobetrotter (bank admin stubs)."""
    await admin.personas.CreateAttributeDefinition(_definition("monthly_income", ppb.ATTRIBUTE_TYPE_DECIMAL))
    await admin.personas.CreateAttributeDefinition(_definition("risk_profile", ppb.ATTRIBUTE_TYPE_ENUM,
                                                               "LOW", "MEDIUM", "HIGH"))
    await admin.personas.CreateAttributeDefinition(_definition(AGE, ppb.ATTRIBUTE_TYPE_INT))


async def define_reference_facts(admin) -> None:  # type: ignore[no-untyped-def]
    """The attributes and the `globetrotter` persona (IsGlobetrotter) of the reference."""
    await admin.personas.CreateAttributeDefinition(_definition("IsGlobetrotter", ppb.ATTRIBUTE_TYPE_BOOL))
    await define_pricing_attributes(admin)
    await admin.personas.CreatePersona(ppb.CreatePersonaRequest(persona_id="globetrotter", persona=ppb.Persona(
        display_name="Globetrotter", description="customer looking to travel", expression="IsGlobetrotter")))


async def add_customer(service, customer_id: str, income: str | None = "6000", *,  # type: ignore[no-untyped-def]
                       globetrotter: bool = True, age: int = 35, risk: str = "LOW") -> str:
    await service.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(customer_id)))
    values = {"IsGlobetrotter": ppb.AttributeValue(bool_value=globetrotter), AGE: ppb.AttributeValue(int_value=age),
              "risk_profile": ppb.AttributeValue(string_value=risk)}
    if income is not None:
        values["monthly_income"] = ppb.AttributeValue(decimal_value=income)
    await service.personas.UpdateCustomerAttributes(ppb.UpdateCustomerAttributesRequest(
        name=f"customers/{customer_id}/attributes", values=values))
    return f"customers/{customer_id}"


async def approved_reference_loan(author, approver, product_id: str = "personal-loan"  # type: ignore[no-untyped-def]
                                  ) -> pb.ApproveProductVersionResponse:
    """Product `product_id` with version 1 of the reference terms, written by `author`, approved by
    `approver`."""
    await author.products.CreateProduct(pb.CreateProductRequest(product_id=product_id, product=pb.Product(
        display_name="Personal loan", description="the globetrotter loan")))
    version = await author.products.CreateProductVersion(pb.CreateProductVersionRequest(
        parent=f"products/{product_id}", product_version=pb.ProductVersion(terms_json=terms_json())))
    return await approver.products.ApproveProductVersion(pb.ApproveProductVersionRequest(name=version.name))


def quote_request(customer_name: str, amount: str, term: int = 36, product_id: str = "personal-loan"
                  ) -> pb.QuoteProductRequest:
    return pb.QuoteProductRequest(product=f"products/{product_id}", customer=customer_name, amount=eur(amount),
                                  term_months=term)
