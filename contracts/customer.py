"""Who the customer is, as the portal tells the bot: every customer message of a verified customer carries the
bank's customer id in the REST channel's metadata under CUSTOMER_ID_METADATA_KEY (absent: anonymous). Only the
portal posts to the bot's REST channel, and only after the bank's signed assertion was verified
(portal/conversations/identity.py), so the bot may trust it; docs/handoff.md."""

CUSTOMER_ID_METADATA_KEY = "switchboard_customer_id"
