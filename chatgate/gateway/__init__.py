"""The OpenAI-compatible gateway under ``/v1`` (SPEC §9, §15).

Once warm, the request path reads only the immutable in-process ``Snapshot``; usage and
key health are written off the path.
"""
