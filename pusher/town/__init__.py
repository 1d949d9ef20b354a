"""The town's own structure, kept by its office: regions, topics, groups, group chats.

Plain async functions taking ``*, session``; the console, the API, the setup page and
the demo all call them, so there is one set of checks. Bad input raises
:class:`pusher.errors.UserError` subclasses with a Chinese sentence.
"""
