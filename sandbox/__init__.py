"""Local stand-in for Zinc's pay-per-order API and the Stripe endpoints it relies on.

Run it with ``python -m sandbox``. It serves two HTTP ports on loopback, one for Zinc
(``POST /agent/orders`` paid through the Machine Payments Protocol) and one for Stripe
(payment methods, shared payment tokens, payment intents, refunds and a Stripe.js
stand-in). Both share one in-memory state object, so nothing survives a restart.
"""
