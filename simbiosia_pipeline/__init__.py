"""Simbiosia voice-AI cost pipeline."""
