"""The only code that writes SQL: one module per aggregate, no policy decisions.

Every list query is fully ordered and ends in the id.
"""
