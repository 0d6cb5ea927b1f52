"""Machine translation of answers for the counselor: the port, its adapters, the queue.

Off unless FURIKAERI_TRANSLATOR names a service. Answers are queued in the transaction that
stores them and translated later by a scheduled job (worker.py), so a student never waits
for a translator, and a translator that is down only delays the translations.
"""
