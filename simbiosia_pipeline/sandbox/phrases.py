"""Short transcript lines and analysis texts for generated conversations.

The pipeline does not store transcripts by default, so content only needs to look like a
real call (a greeting, a few exchanges, a goodbye, in the agent's language) and stay small
enough that detail responses are cheap to serve.
"""

from __future__ import annotations

AGENT_OPENINGS = {
    "es": (
        "Hola, le llamo de parte de Simbiosia, ¿tiene un minuto?",
        "Buenos días, ¿hablo con el titular de la línea?",
        "Hola, gracias por atender. Le llamo por su solicitud de información.",
    ),
    "en": (
        "Hi, this is the Simbiosia assistant. Do you have a minute?",
        "Good morning, am I speaking with the account holder?",
    ),
}
AGENT_LINES = {
    "es": (
        "Perfecto, le explico brevemente las condiciones.",
        "¿Le vendría bien que le agendemos una cita esta semana?",
        "Entendido, tomo nota de sus datos.",
        "Le confirmo que la oferta sigue vigente hasta final de mes.",
        "¿Prefiere que le enviemos la información por correo?",
    ),
    "en": (
        "Great, let me quickly walk you through the options.",
        "Would a call back later this week work for you?",
        "Understood, I have noted your details.",
        "The offer is valid until the end of the month.",
    ),
}
USER_LINES = {
    "es": (
        "Sí, dígame.",
        "Ahora mismo estoy ocupado.",
        "Vale, me interesa.",
        "¿Cuánto cuesta?",
        "Mejor el jueves por la tarde.",
        "No, gracias.",
    ),
    "en": ("Sure, go ahead.", "I'm busy right now.", "How much is it?", "Thursday works."),
}
AGENT_CLOSINGS = {
    "es": ("Muchas gracias por su tiempo, que tenga un buen día.",),
    "en": ("Thank you for your time, have a great day.",),
}
OUTCOMES = {
    "success": ("Appointment scheduled", "The lead agreed to a follow-up appointment."),
    "failure": ("Lead not interested", "The lead declined the offer and ended the call."),
    "unknown": ("Call inconclusive", "The conversation ended before a clear outcome."),
}
TERMINATION_REASONS = (
    "Call ended by remote party",
    "end_call tool was called.",
    "Client disconnected: 1000",
)
FAILURE_REASONS = (
    "Call failed due to a telephony error",
    "LLM provider error",
)
