"""Staff notifications: console users told that something waits for them.

:mod:`.waiting` finds what waits and for whom (items in review, urgent residents'
messages); :mod:`.notify` tells them once per round over WeChat or SMS.
"""
