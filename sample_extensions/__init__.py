"""Sample extensions shipped with the harness: good ones, companions and rogues.

Never imported by the signing process: certification copies these folders
into the worker's sandbox, which imports them.
"""
