"""The minutes check: every checkable claim in a paragraph of minutes or a draft summary, read by a grammar
over the catalogue's ids, the provider aliases and number and month words (vocabulary.py, grammar.py), then
judged against the record (judge.py). No model and no service: the same text always gives the same claims.
"""
