"""The only code in the portal that talks to the Rasa server."""
