"""Northbank's custom actions (rasa-sdk), one module per concern.

The action server runs with cwd bot/ and PYTHONPATH=<repo root> so that `contracts` imports
(scripts/launcher.py and the Docker image set it).
"""
