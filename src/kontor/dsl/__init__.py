"""Gold, Midaz's transaction DSL: a lark grammar and a compiler to the core's transaction intent.

Pure: it imports lark, the standard library, ``kontor.core`` and ``kontor.errors`` only.
"""

from kontor.dsl.compile import compile

__all__ = ["compile"]
