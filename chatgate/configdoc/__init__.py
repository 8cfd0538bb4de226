"""Configuration as code on the server (SPEC §12, §14): export the configuration as one
document, and plan or apply a document.

Rules: apply goes through the same services as the API (validation, invariants and audit
rows are theirs; audit source ``config-apply``), in one transaction serialised against
other applies; plan runs exactly the same code in a transaction that is always rolled
back, so a plan and the apply after it cannot disagree. Secrets are compared inside the
server and never echoed: changes name fields, never values.
"""
