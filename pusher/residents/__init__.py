"""The residents' side of the official account (issue 20).

Joining (a QR code per village and grid places a follower in its region), binding a
follower to the roster with an SMS code (also for family members: 代收), choosing
topics and channels, and being heard: what residents write back becomes a message
for their grid worker, who answers it over WeChat or SMS.

Modules: :mod:`.scenes` (QR scenes ↔ regions, followers), :mod:`.codes` (SMS codes and
their limits), :mod:`.binding` (binding and the grid worker's decision), :mod:`.inbound`
(answers to follows, texts, voice, clicks, consents), :mod:`.messages` (residents'
messages and answers), :mod:`.choices` (topics, channel pauses, "my notices"),
:mod:`.wxapi` (the account's QR, OAuth, menu and customer-service calls).
"""
