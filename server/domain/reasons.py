"""Every reason code Engage answers with (`google.rpc.ErrorInfo.reason`, AIP-193), one line each on
what it means. DomainError accepts only these; the error tables of docs/errors.md are checked against this
list (tests/unit/test_reasons.py), so a code is added here, raised, and documented in one change.

Not here: the reasons of rejected rows in a batch's response (`IngestTransactionsResponse.rejected`)
and a delivery's `error_code` (mostly the provider's own codes). They travel in response fields,
not in ErrorInfo, and are documented as lists of their own. A code that is both (CURRENCY_MISMATCH,
INVALID_AMOUNT, TEXT_NUL_CHARACTER) is here because some call also fails with it.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    meaning: str

    def __new__(cls, code: str, meaning: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    # -- authentication (UNAUTHENTICATED) ---------------------------------------------------------
    TOKEN_MISSING = "TOKEN_MISSING", "no `authorization: Bearer <JWT>` metadata"
    TOKEN_MALFORMED = "TOKEN_MALFORMED", "the bearer token is not a JWT"
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "the token's `exp` has passed (beyond the leeway)"
    TOKEN_NOT_YET_VALID = "TOKEN_NOT_YET_VALID", "the token's `nbf` is in the future (beyond the leeway)"
    TOKEN_BAD_SIGNATURE = "TOKEN_BAD_SIGNATURE", "the token's signature does not verify"
    TOKEN_ALGORITHM_NOT_ALLOWED = "TOKEN_ALGORITHM_NOT_ALLOWED", "not HS256/RS256 with a configured key"
    TOKEN_WRONG_ISSUER = "TOKEN_WRONG_ISSUER", "the token's `iss` is not the configured issuer"
    TOKEN_WRONG_AUDIENCE = "TOKEN_WRONG_AUDIENCE", "the token's `aud` is not the configured audience"
    TOKEN_MISSING_CLAIM = "TOKEN_MISSING_CLAIM", "a claim Engage needs is absent"
    TOKEN_UNKNOWN_ROLE = "TOKEN_UNKNOWN_ROLE", "the token's role is not one of Engage's"
    TOKEN_INVALID = "TOKEN_INVALID", "another problem with the token's claims"
    UNKNOWN_TENANT = "UNKNOWN_TENANT", "the token names a tenant that does not exist (or was deleted)"

    # -- permission (PERMISSION_DENIED) -----------------------------------------------------------
    TENANT_DISABLED = "TENANT_DISABLED", "an operator disabled the token's tenant"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED", "the token's role may not make this call"
    NOT_YOUR_DATA = "NOT_YOUR_DATA", "a user token asked for another customer's data"
    CAMPAIGN_SELF_APPROVAL = "CAMPAIGN_SELF_APPROVAL", "a campaign's author may not approve it (four eyes)"

    # -- request shape, every service (INVALID_ARGUMENT) ------------------------------------------
    RESOURCE_NAME_REQUIRED = "RESOURCE_NAME_REQUIRED", "a required resource name is empty"
    RESOURCE_NAME_INVALID = "RESOURCE_NAME_INVALID", "a resource name does not fit its AIP-122 pattern"
    UPDATE_MASK_REQUIRED = "UPDATE_MASK_REQUIRED", "an update without an update_mask"
    UPDATE_MASK_INVALID = "UPDATE_MASK_INVALID", "an update_mask names a field that cannot be changed"
    REQUEST_ID_TOO_LONG = "REQUEST_ID_TOO_LONG", "a request_id over 120 characters"
    MISSING_CUSTOMER_ID = "MISSING_CUSTOMER_ID", "a call about a customer without its customer_id"
    INVALID_ENUM = "INVALID_ENUM", "an enum field unset or unknown"
    INVALID_DATE = "INVALID_DATE", "a date that is not a calendar date"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID", "a Timestamp outside 0001..9999 or with nanos out of range"
    TEXT_NUL_CHARACTER = "TEXT_NUL_CHARACTER", "a string holds U+0000, which PostgreSQL cannot store"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE", "a negative page_size"
    INVALID_PAGE_TOKEN = "INVALID_PAGE_TOKEN", "a page_token this list did not return"
    INVALID_ORDER_BY = "INVALID_ORDER_BY", "an order_by that is none of the orders the list offers"
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE", "a date range filter whose start is after its end"
    MESSAGE_MALFORMED = "MESSAGE_MALFORMED", "the request bytes are not a message of the method's type"
    EXPORT_VIEW_REQUIRED = "EXPORT_VIEW_REQUIRED", "ExportView without a view to export"

    # -- batches (INVALID_ARGUMENT) ---------------------------------------------------------------
    EMPTY_BATCH = "EMPTY_BATCH", "a batch with nothing in it"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE", "a batch with more items than a call takes"
    REPEATED_ID = "REPEATED_ID", "the same id twice in one batch"
    BATCH_REQUESTS_REQUIRED = "BATCH_REQUESTS_REQUIRED", "BatchTriggerEvents without requests"
    BATCH_CONTENT_TOO_LARGE = "BATCH_CONTENT_TOO_LARGE", "a trigger batch's messages over 64 Mi characters"
    BATCH_ANSWER_TOO_LARGE = "BATCH_ANSWER_TOO_LARGE", "a trigger batch whose answer would pass 4 MiB"

    # -- ingestion --------------------------------------------------------------------------------
    INVALID_CUSTOMER = "INVALID_CUSTOMER", "a customer's fields are invalid (INVALID_ARGUMENT)"
    INVALID_ACCOUNT = "INVALID_ACCOUNT", "an account's fields are invalid (INVALID_ARGUMENT)"
    INVALID_HOLDING = "INVALID_HOLDING", "a holding's fields are invalid (INVALID_ARGUMENT)"
    INVALID_AMOUNT = "INVALID_AMOUNT", "an amount that is not a storable Money (INVALID_ARGUMENT)"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH", "an amount not in its account's currency (INVALID_ARGUMENT)"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER", "an account names a customer not ingested yet (FAILED_PRECONDITION)"
    UNKNOWN_CUSTOMER_OR_ACCOUNT = "UNKNOWN_CUSTOMER_OR_ACCOUNT", \
        "a holding names a customer or account not ingested yet (FAILED_PRECONDITION)"
    INVALID_STATEMENT = "INVALID_STATEMENT", "a statement's fields are invalid (INVALID_ARGUMENT)"
    INVALID_SCHEDULED_PAYMENT = "INVALID_SCHEDULED_PAYMENT", \
        "a scheduled payment's fields are invalid (INVALID_ARGUMENT)"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT", \
        "a statement or scheduled payment names an account not ingested yet (FAILED_PRECONDITION)"
    ACCOUNT_NOT_PAYABLE = "ACCOUNT_NOT_PAYABLE", \
        "a statement or scheduled payment of an account that is no credit card or loan (FAILED_PRECONDITION)"
    PAYMENT_STATE_FINAL = "PAYMENT_STATE_FINAL", \
        "a scheduled payment processed, failed or cancelled sent with another state (FAILED_PRECONDITION)"

    # -- insights (INVALID_ARGUMENT) --------------------------------------------------------------
    AS_OF_OUT_OF_RANGE = "AS_OF_OUT_OF_RANGE", "an evaluation as of a date before 1900-01-01"
    INVALID_CHUNK_SIZE = "INVALID_CHUNK_SIZE", "RunInsightBatch's chunk_size out of range"
    NOT_A_SCHEDULED_INSIGHT = "NOT_A_SCHEDULED_INSIGHT", "TriggerInsights named an insight evaluated on events"

    # -- tenants (engagectl tenants) --------------------------------------------------------------
    INVALID_TENANT = "INVALID_TENANT", "a tenant id that is not a valid id (INVALID_ARGUMENT)"
    TENANT_EXISTS = "TENANT_EXISTS", "the tenant exists already (ALREADY_EXISTS)"
    TENANT_NOT_DISABLED = "TENANT_NOT_DISABLED", "deleting a tenant that is enabled (FAILED_PRECONDITION)"
    TENANT_DISABLED_RECENTLY = "TENANT_DISABLED_RECENTLY", \
        "deleting a tenant disabled less than the tenant cache ago (FAILED_PRECONDITION)"

    # -- engagement setup (INVALID_ARGUMENT) ------------------------------------------------------
    APP_NAME_REQUIRED = "APP_NAME_REQUIRED", "an app without a display name"
    APP_NAME_INVALID = "APP_NAME_INVALID", "an app's display name is invalid"
    APP_CATEGORY_INVALID = "APP_CATEGORY_INVALID", "an app category Engage does not know"
    APP_PLATFORM_REQUIRED = "APP_PLATFORM_REQUIRED", "an app without a platform"
    EVENT_TYPE_NAME_REQUIRED = "EVENT_TYPE_NAME_REQUIRED", "an event type without a display name"
    EVENT_NAME_REQUIRED = "EVENT_NAME_REQUIRED", "an event without a display name"
    EVENT_DESCRIPTION_REQUIRED = "EVENT_DESCRIPTION_REQUIRED", "an event without a description"
    EVENT_TYPE_REQUIRED = "EVENT_TYPE_REQUIRED", "an event without an event type"
    EVENT_MESSAGE_EMPTY = "EVENT_MESSAGE_EMPTY", "an event message with neither template nor content"
    EVENT_CHANNEL_REPEATED = "EVENT_CHANNEL_REPEATED", "an event with two messages for one channel"
    EVENT_MESSAGE_CLASS_INVALID = "EVENT_MESSAGE_CLASS_INVALID", "an event's message class unset or unknown"
    TEMPLATE_INVALID = "TEMPLATE_INVALID", "a template's content is invalid (parts, length, tokens, nesting)"
    TEMPLATE_CHANNEL_MISMATCH = "TEMPLATE_CHANNEL_MISMATCH", "a template of another channel than the message"
    TEMPLATE_CHANNEL_NOT_MODIFIABLE = "TEMPLATE_CHANNEL_NOT_MODIFIABLE", "an update changed a template's channel"
    CONTENT_CHANNEL_MISMATCH = "CONTENT_CHANNEL_MISMATCH", "content of another channel than the message's"
    CHANNEL_REQUIRED = "CHANNEL_REQUIRED", "a channel unset or unknown"
    CHANNEL_CONFIG_INVALID = "CHANNEL_CONFIG_INVALID", "a channel configuration's fields are invalid"
    CHANNEL_CONFIG_HOST_NOT_ALLOWED = ("CHANNEL_CONFIG_HOST_NOT_ALLOWED",
                                       "a channel configuration's host is one the egress policy refuses")
    CHANNEL_CONFIG_APP_NOT_PUSH = "CHANNEL_CONFIG_APP_NOT_PUSH", "an app named for a configuration of another channel"
    FALLBACK_POLICY_INVALID = "FALLBACK_POLICY_INVALID", "an event type's fallback policy is invalid"
    CONTACT_INVALID = "CONTACT_INVALID", "a contact's fields are invalid"
    TRANSACTION_ALERT_INVALID = "TRANSACTION_ALERT_INVALID", "a transaction alert's condition is invalid"
    PAYMENT_ALERT_INVALID = "PAYMENT_ALERT_INVALID", "a payment alert's days_before_due out of range or misplaced"
    CAMPAIGN_INVALID = "CAMPAIGN_INVALID", "a campaign's fields are invalid"

    # -- sending (INVALID_ARGUMENT) ---------------------------------------------------------------
    TEMPLATE_TOKEN_MISSING = "TEMPLATE_TOKEN_MISSING", "a trigger's data lacks a token its messages use"
    MESSAGE_TOO_LONG = "MESSAGE_TOO_LONG", "a rendered message over its channel's limit"
    OTP_PURPOSE_INVALID = "OTP_PURPOSE_INVALID", "a one-time password without a valid purpose"
    OTP_CHANNEL_INVALID = "OTP_CHANNEL_INVALID", "a channel one-time passwords cannot go by"
    OTP_CODE_REQUIRED = "OTP_CODE_REQUIRED", "VerifyOtp without a code"
    OTP_WRONG_CODE = "OTP_WRONG_CODE", "the code is wrong (attempts left in the metadata)"

    # -- state (FAILED_PRECONDITION) --------------------------------------------------------------
    APP_NOT_PUBLISHED = "APP_NOT_PUBLISHED", "the event's app is not published"
    TEMPLATE_RENDER_FAILED = "TEMPLATE_RENDER_FAILED", "a message could not be rendered"
    OTP_NO_ADDRESS = "OTP_NO_ADDRESS", "the customer has no address on the one-time password's channel"
    OTP_EXPIRED = "OTP_EXPIRED", "the one-time password has expired"
    OTP_ALREADY_USED = "OTP_ALREADY_USED", "the one-time password was verified already"
    OTP_TOO_MANY_ATTEMPTS = "OTP_TOO_MANY_ATTEMPTS", "too many wrong codes: ask for a new one"
    CAMPAIGN_STATE_INVALID = "CAMPAIGN_STATE_INVALID", "the campaign's state does not allow this"
    PASS_SIGNING_FAILED = "PASS_SIGNING_FAILED", "a new Wallet pass cannot be signed with its type's configuration"

    # -- goals ------------------------------------------------------------------------------------
    GOAL_TARGET_NOT_POSITIVE = "GOAL_TARGET_NOT_POSITIVE", \
        "a goal's target amount is zero or negative (INVALID_ARGUMENT)"
    GOAL_CURRENCY_MISMATCH = "GOAL_CURRENCY_MISMATCH", \
        "a goal's target is not in its target account's currency (INVALID_ARGUMENT)"
    GOAL_TARGET_DATE_NOT_FUTURE = "GOAL_TARGET_DATE_NOT_FUTURE", \
        "a goal's target date is not after today (INVALID_ARGUMENT)"
    GOAL_NAME_INVALID = "GOAL_NAME_INVALID", "a goal's name is empty or over 80 characters (INVALID_ARGUMENT)"
    GOAL_PRIORITY_INVALID = "GOAL_PRIORITY_INVALID", "a goal's priority is not 1..100 (INVALID_ARGUMENT)"
    TOO_MANY_ACTIVE_GOALS = "TOO_MANY_ACTIVE_GOALS", \
        "the customer has as many active goals as the bank allows already (FAILED_PRECONDITION)"
    GOAL_ARCHIVED = "GOAL_ARCHIVED", "changing a goal that is archived (FAILED_PRECONDITION)"
    NOT_ENROLLED = "NOT_ENROLLED", \
        "a goals call for a customer not enrolled in the goals programme, or cancelled (FAILED_PRECONDITION)"
    ENROLMENT_TRANSITION_NOT_ALLOWED = "ENROLMENT_TRANSITION_NOT_ALLOWED", \
        "the enrolment's status does not allow the action, e.g. PAUSE when paused (FAILED_PRECONDITION)"
    ENROLMENT_ACCOUNT_INVALID = "ENROLMENT_ACCOUNT_INVALID", \
        "the target account is not the customer's, or not a savings or checking account (INVALID_ARGUMENT)"
    FUNDING_SCHEDULE_INVALID = "FUNDING_SCHEDULE_INVALID", \
        "a funding programme's schedule is invalid (INVALID_ARGUMENT)"
    FUNDING_RULE_INVALID = "FUNDING_RULE_INVALID", "a funding programme's rule is invalid (INVALID_ARGUMENT)"
    FUNDING_AMOUNT_INVALID = "FUNDING_AMOUNT_INVALID", \
        "a funding amount or percentage is not positive or not storable (INVALID_ARGUMENT)"
    TRANSFER_TRANSITION_NOT_ALLOWED = "TRANSFER_TRANSITION_NOT_ALLOWED", \
        "the transfer's status does not allow the change, e.g. confirming one cancelled (FAILED_PRECONDITION)"
    FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED = "FUNDING_PROGRAMME_TRANSITION_NOT_ALLOWED", \
        "the programme's status does not allow the change, e.g. resuming one active (FAILED_PRECONDITION)"
    FUNDING_SOURCE_INVALID = "FUNDING_SOURCE_INVALID", \
        "the source account is not the customer's, not in the goal's currency, or the goal's own (INVALID_ARGUMENT)"
    TRANSFER_OUTCOME_INVALID = "TRANSFER_OUTCOME_INVALID", \
        "a confirmation that is not EXECUTED or FAILED, FAILED without a reason, or too long (INVALID_ARGUMENT)"
    MILESTONE_POLICY_INVALID = "MILESTONE_POLICY_INVALID", \
        "milestone percentages not strictly increasing in 1..100, or a step not positive (INVALID_ARGUMENT)"

    # -- products (the Product Factory; docs/products.md) -----------------------------------------
    PRODUCT_INVALID = "PRODUCT_INVALID", \
        "a product version's fields are invalid: conditions, intervals, rates, charges (INVALID_ARGUMENT)"
    PRODUCT_GRID_TOO_LARGE = "PRODUCT_GRID_TOO_LARGE", \
        "a pricing grid splits into more cells than the coverage analysis examines (INVALID_ARGUMENT)"
    QUOTE_INVALID = "QUOTE_INVALID", \
        "a quote's amount or term is not positive, or the amount is in another currency (INVALID_ARGUMENT)"
    PRODUCT_VERSION_IMMUTABLE = "PRODUCT_VERSION_IMMUTABLE", \
        "editing a product version that is approved or retired (FAILED_PRECONDITION)"
    PRODUCT_VERSION_TRANSITION_NOT_ALLOWED = "PRODUCT_VERSION_TRANSITION_NOT_ALLOWED", \
        "the version's status does not allow the change, e.g. retiring a draft (FAILED_PRECONDITION)"
    PRODUCT_NOT_PRICED = "PRODUCT_NOT_PRICED", \
        "an eligible request that no interest & commission list covers (FAILED_PRECONDITION)"
    PRODUCT_SELF_APPROVAL = "PRODUCT_SELF_APPROVAL", \
        "a product version's author may not approve it (four eyes; PERMISSION_DENIED)"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND", "no such product (NOT_FOUND)"
    PRODUCT_VERSION_NOT_FOUND = "PRODUCT_VERSION_NOT_FOUND", "no such product version (NOT_FOUND)"
    PRODUCT_EXISTS = "PRODUCT_EXISTS", "a product of that id exists already (ALREADY_EXISTS)"
    PRODUCT_NOT_LIVE = "PRODUCT_NOT_LIVE", "quoting a product without an approved version (FAILED_PRECONDITION)"
    PRODUCT_CONVERSION_MATCH_INVALID = "PRODUCT_CONVERSION_MATCH_INVALID", \
        "a conversion match without category or description, or with a part too long (INVALID_ARGUMENT)"

    # -- recommended offers (docs/triggers.md, "Recommended offers") ------------------------------
    OFFER_RECOMMENDATION_INVALID = "OFFER_RECOMMENDATION_INVALID", \
        "an offer recommendation's id, display name, banner or target is invalid (INVALID_ARGUMENT)"
    OFFER_RECOMMENDATION_EXISTS = "OFFER_RECOMMENDATION_EXISTS", \
        "an offer recommendation of that id exists already (ALREADY_EXISTS)"
    OFFER_RECOMMENDATION_NOT_FOUND = "OFFER_RECOMMENDATION_NOT_FOUND", "no such offer recommendation (NOT_FOUND)"
    SUGGESTED_OFFER_NOT_FOUND = "SUGGESTED_OFFER_NOT_FOUND", "no such suggested offer (NOT_FOUND)"
    SUGGESTED_OFFER_DECIDED = "SUGGESTED_OFFER_DECIDED", \
        "approving or rejecting a suggestion that is no longer PENDING (FAILED_PRECONDITION)"
    OFFER_ALREADY_SHOWN = "OFFER_ALREADY_SHOWN", \
        "approving a suggestion whose customer has an unexpired banner for the product (FAILED_PRECONDITION)"

    # -- bank notifications (docs/triggers.md, "Bank notifications") ------------------------------
    BANK_NOTIFICATION_INVALID = "BANK_NOTIFICATION_INVALID", \
        "an assignee over 200 characters or with control characters (INVALID_ARGUMENT)"
    BANK_NOTIFICATION_NOT_FOUND = "BANK_NOTIFICATION_NOT_FOUND", "no such bank notification (NOT_FOUND)"
    NOTIFICATION_WEBHOOK_INVALID = "NOTIFICATION_WEBHOOK_INVALID", \
        "a webhook url that is not https (or http), too long or with credentials; a bad secret (INVALID_ARGUMENT)"
    NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED = "NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED", \
        "a webhook host the workers may not POST to (egress policy; INVALID_ARGUMENT)"
    NOTIFICATION_WEBHOOK_NOT_FOUND = "NOTIFICATION_WEBHOOK_NOT_FOUND", "the bank set no webhook (NOT_FOUND)"

    # -- personas: segment expressions (docs/segments.md) -----------------------------------------
    SEGMENT_EXPRESSION_INVALID = "SEGMENT_EXPRESSION_INVALID", \
        "a segment expression does not parse or does not fit the attribute catalogue (INVALID_ARGUMENT)"
    TRIGGER_CONDITION_INVALID = "TRIGGER_CONDITION_INVALID", \
        "a trigger rule's condition does not parse or does not fit the catalogue (INVALID_ARGUMENT; triggers.md)"
    ATTRIBUTE_DEFINITION_INVALID = "ATTRIBUTE_DEFINITION_INVALID", \
        "an attribute definition's name, type, ENUM values or default is invalid (INVALID_ARGUMENT)"
    ATTRIBUTE_DEFINITION_EXISTS = "ATTRIBUTE_DEFINITION_EXISTS", \
        "an attribute of that name is defined already, or is built in (ALREADY_EXISTS)"
    ATTRIBUTE_DEFINITION_NOT_FOUND = "ATTRIBUTE_DEFINITION_NOT_FOUND", "no such attribute definition (NOT_FOUND)"
    ATTRIBUTE_IN_USE = "ATTRIBUTE_IN_USE", \
        "deleting an attribute a persona, journey, trigger rule, offer or product names (FAILED_PRECONDITION)"
    ATTRIBUTE_UNKNOWN = "ATTRIBUTE_UNKNOWN", \
        "setting an attribute that is not defined, or a built-in one (INVALID_ARGUMENT)"
    ATTRIBUTE_VALUE_INVALID = "ATTRIBUTE_VALUE_INVALID", \
        "a customer attribute value not of its attribute's type (INVALID_ARGUMENT)"
    PERSONA_INVALID = "PERSONA_INVALID", "a persona's id or display name is invalid (INVALID_ARGUMENT)"
    PERSONA_EXISTS = "PERSONA_EXISTS", "a persona of that id exists already (ALREADY_EXISTS)"
    PERSONA_NOT_FOUND = "PERSONA_NOT_FOUND", "no such persona (NOT_FOUND)"

    # -- trigger rules (docs/triggers.md) ---------------------------------------------------------
    TRIGGER_RULE_INVALID = "TRIGGER_RULE_INVALID", \
        "a trigger rule's id, names, audience, actions, active window or cool-down is invalid (INVALID_ARGUMENT)"
    TRIGGER_RULE_EXISTS = "TRIGGER_RULE_EXISTS", "a trigger rule of that id exists already (ALREADY_EXISTS)"
    TRIGGER_RULE_STATE = "TRIGGER_RULE_STATE", \
        "a lifecycle step the rule's status does not allow, or an approval of another version (FAILED_PRECONDITION)"
    TRIGGER_RULE_SELF_APPROVAL = "TRIGGER_RULE_SELF_APPROVAL", \
        "approving a rule version one edited oneself (PERMISSION_DENIED)"
    TRIGGER_RULE_REFERENCE_UNKNOWN = "TRIGGER_RULE_REFERENCE_UNKNOWN", \
        "a rule names a persona, audience, product or event that does not exist (FAILED_PRECONDITION)"
    TRIGGER_RULE_NOT_FOUND = "TRIGGER_RULE_NOT_FOUND", "no such trigger rule (NOT_FOUND)"
    TRIGGER_FIRING_NOT_FOUND = "TRIGGER_FIRING_NOT_FOUND", "no such firing of the rule (NOT_FOUND)"
    TRIGGER_BACKTEST_INVALID = "TRIGGER_BACKTEST_INVALID", \
        "a backtest's period (both days, start not after end, at most 366 days) or unit costs are invalid " \
        "(INVALID_ARGUMENT)"
    BANNER_NOT_FOUND = "BANNER_NOT_FOUND", "no such banner of the customer (NOT_FOUND)"

    # -- journeys (docs/journeys.md) ---------------------------------------------------------------
    JOURNEY_INVALID = "JOURNEY_INVALID", \
        "a journey's definition is refused: a name, a route, a capture, or a step no end is reachable from " \
        "(INVALID_ARGUMENT; metadata problem and steps)"
    JOURNEY_EXISTS = "JOURNEY_EXISTS", "a journey of that id exists already (ALREADY_EXISTS)"
    JOURNEY_NOT_FOUND = "JOURNEY_NOT_FOUND", "no such journey, or no such version of it (NOT_FOUND)"
    JOURNEY_INSTANCE_NOT_FOUND = "JOURNEY_INSTANCE_NOT_FOUND", "no such journey instance (NOT_FOUND)"
    JOURNEY_ANSWER_INVALID = "JOURNEY_ANSWER_INVALID", \
        "a step's answer misses a value, names one the step does not capture, or is of another type " \
        "(INVALID_ARGUMENT; metadata field)"
    JOURNEY_STEP_MISMATCH = "JOURNEY_STEP_MISMATCH", \
        "answering a step the instance is not at, or an instance that has ended (FAILED_PRECONDITION)"
    JOURNEY_VERSION_STALE = "JOURNEY_VERSION_STALE", \
        "the instance's version names an attribute or persona deleted since (FAILED_PRECONDITION)"
    PERSONA_IN_USE = "PERSONA_IN_USE", \
        "deleting a persona an audience, journey, message, campaign, rule, offer or product names (FAILED_PRECONDITION)"
    AUDIENCE_INVALID = "AUDIENCE_INVALID", \
        "an audience's id, display name or definition is invalid (INVALID_ARGUMENT)"
    AUDIENCE_EXISTS = "AUDIENCE_EXISTS", "an audience of that id exists already (ALREADY_EXISTS)"
    AUDIENCE_NOT_FOUND = "AUDIENCE_NOT_FOUND", "no such audience (NOT_FOUND)"
    AUDIENCE_REFERENCE_UNKNOWN = "AUDIENCE_REFERENCE_UNKNOWN", \
        "an audience names a persona or audience that does not exist (FAILED_PRECONDITION)"
    AUDIENCE_CYCLE = "AUDIENCE_CYCLE", \
        "an audience would contain itself through the audiences it names (FAILED_PRECONDITION)"
    AUDIENCE_IN_USE = "AUDIENCE_IN_USE", \
        "deleting an audience an audience, campaign, trigger rule or offer names (FAILED_PRECONDITION)"

    # -- reporting metrics (docs/reporting-metrics.md; INVALID_ARGUMENT) --------------------------
    METRICS_DATE_RANGE_INVALID = "METRICS_DATE_RANGE_INVALID", \
        "QueryMetrics without both ends of its date range, ending before it starts, outside 1900-01-01..9999-11-30 " \
        "or over 3,660 periods; SummarizeGoals with a date range ending before it starts"
    METRICS_CONVERSION_DAYS_INVALID = "METRICS_CONVERSION_DAYS_INVALID", "QueryMetrics' conversion_days over 365 " \
        "or negative"

    # -- quotas (RESOURCE_EXHAUSTED) --------------------------------------------------------------
    OTP_TOO_MANY_SENDS = "OTP_TOO_MANY_SENDS", "the customer's hourly one-time passwords are used up"

    # -- not found, also for another tenant's ids (NOT_FOUND; errors.not_found(kind)) -------------
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND", "no such customer"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND", "no such account"
    INSIGHT_NOT_FOUND = "INSIGHT_NOT_FOUND", "no insight of that name in the catalogue"
    FEED_ITEM_NOT_FOUND = "FEED_ITEM_NOT_FOUND", "no such feed item"
    INSIGHT_BATCH_NOT_FOUND = "INSIGHT_BATCH_NOT_FOUND", "no such insight batch"
    TENANT_NOT_FOUND = "TENANT_NOT_FOUND", "no such tenant"
    APP_NOT_FOUND = "APP_NOT_FOUND", "no such app"
    EVENT_NOT_FOUND = "EVENT_NOT_FOUND", "no such event"
    EVENT_TYPE_NOT_FOUND = "EVENT_TYPE_NOT_FOUND", "no such event type"
    TEMPLATE_NOT_FOUND = "TEMPLATE_NOT_FOUND", "no such template"
    CHANNEL_CONFIG_NOT_FOUND = "CHANNEL_CONFIG_NOT_FOUND", "no such channel configuration"
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND", "no contact for that customer"
    CAMPAIGN_NOT_FOUND = "CAMPAIGN_NOT_FOUND", "no such campaign"
    DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND", "no such delivery"
    OTP_NOT_FOUND = "OTP_NOT_FOUND", "no such one-time password"
    TRANSACTION_ALERT_NOT_FOUND = "TRANSACTION_ALERT_NOT_FOUND", "no such transaction alert"
    INSIGHT_NOTIFICATION_NOT_FOUND = "INSIGHT_NOTIFICATION_NOT_FOUND", "no such insight notification"
    PAYMENT_ALERT_NOT_FOUND = "PAYMENT_ALERT_NOT_FOUND", "no such payment alert"
    GOAL_NOT_FOUND = "GOAL_NOT_FOUND", "no such goal"
    ENROLMENT_NOT_FOUND = "ENROLMENT_NOT_FOUND", "the customer never enrolled in the goals programme"
    FUNDING_PROGRAMME_NOT_FOUND = "FUNDING_PROGRAMME_NOT_FOUND", "no such funding programme"
    TRANSFER_NOT_FOUND = "TRANSFER_NOT_FOUND", "no such transfer instruction"

    # -- subscriptions: the reference API's codes, kept for its clients (INVALID_ARGUMENT; docs/errors.md) --
    Y800 = "Y800", "an invalid value (JSON text, insightName, a title, a threshold)"
    Y801 = "Y801", "an invalid length (insightTitle)"
    Y802 = "Y802", "modifying an attribute that this API may not change"
    Y803 = "Y803", "a configuration with none of isSubscribed, duration, threshold"
    Y806 = "Y806", "invalid input (the body's shape, an unknown or repeated key, an insight twice)"
    Y812 = "Y812", "insightName missing"
    Y813 = "Y813", "a required field of a configuration or threshold missing"
    Y825 = "Y825", "an update without a valid request body"

    # -- faults, not domain errors (server/faults.py, the interceptor; with RetryInfo) -----------
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE", "the database cannot be reached (UNAVAILABLE)"
    STORE_TIMEOUT = "STORE_TIMEOUT", "a statement ran past its timeout or the database went silent (UNAVAILABLE)"
    STORE_BUSY = "STORE_BUSY", "a lock was not granted in time (UNAVAILABLE)"
    STORE_CONFLICT = "STORE_CONFLICT", "a deadlock or serialization failure; nothing kept (ABORTED)"
    OUT_OF_MEMORY = "OUT_OF_MEMORY", "the server ran out of memory for this call (RESOURCE_EXHAUSTED)"
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE", "Redis could not be reached where a call needed it (UNAVAILABLE)"
    INTERNAL = "INTERNAL", "a fault of ours; the message carries the request id (INTERNAL)"
