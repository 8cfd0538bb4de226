"""Chats: a user's conversations with a model, stored, and their retention (SPEC §10).

Only the owner sees a chat; anyone else (admins included) gets 404. Replies are produced
through the gateway's path via the ``ReplyEngine`` interface (``chats.engine``); this
package never imports ``gateway``.
"""
