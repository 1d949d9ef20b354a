"""Keyword rules: which groups an item goes to, and why.

This package knows nothing of the database: the pipeline hands it plain data
(:class:`RuleSpec`, :class:`ItemText`) and gets plain data back (:class:`GroupMatch`,
:class:`DomainHit`). Build the tokenizer once (:func:`build_tokenizer`), compile every
rule of every group once (:func:`compile_rules`), then call :meth:`Matcher.match` per item.

Rule language (compact form)
----------------------------
::

    rule    := clause ("&" clause)*
    clause  := "!" term                  none-of: the item must not contain it
             | term ("|" term)*          several terms: any-of (one such group per rule);
                                         a single term: all-of
             | filter
    term    := [("title" | "body") ":"] (word | "quoted words")
    filter  := "in:" fields | "region:" code | "domain:" name[,name] | "urgency:" level

``|`` binds tighter than ``&``. Examples::

    养老 | 高龄补贴 | 老年人 & !招聘       any of three, and not 招聘
    低保 & title:通知                     both, 通知 in the title only
    "open day" & in:title                a phrase with a space; look in titles only
    停水 | 停电 & region:360123101        only items whose region lies in 360123101
    region:360123 & urgency:urgent       every urgent item of that region
    救助 & domain:社会救助,养老服务         and classified (or declared) in one of them

Operators may be typed full-width (｜ ＆ ！). A word runs until whitespace, an operator
or a quote; quote ("…" or “…”, ``\\`` escapes) keywords containing those or ``:``.
Errors raise :class:`RuleSyntaxError` with the 0-based ``position`` of the problem.
``format_rule`` writes a spec back; ``parse_rule(format_rule(s))`` gives ``canonical(s)``
(a lone any-keyword becomes an all-keyword, which means the same).

Matching semantics
------------------
* Text and keywords are normalised the same way: full-width → half-width (NFKC) and
  case-folded. Offsets in :class:`Reason` point into the original, un-normalised text.
* Synonyms (``rules/data/synonyms.txt``) apply both ways to whole keywords: ``低保`` finds
  ``最低生活保障`` and ``最低生活保障`` finds ``低保``; ``matched_text`` shows what was there.
* A keyword matches wherever it occurs as a substring, so no keyword is missed because
  jieba split the text differently. jieba only vetoes hits of short keywords (1–2
  characters) that cut a longer word: a hit that starts or ends inside a word it does not
  cover whole (``和服`` in 他/和/服务员), or lies inside a false friend
  (``rules/data/false_friends.txt``: ``保险`` in ``保险柜``). ``低保`` still matches
  ``低保户`` and ``农村低保``; ``养老`` matches ``养老金`` and ``养老服务``. Policy terms
  are in the tokenizer's dictionary so jieba keeps them whole, and a short keyword that
  is such a term is trusted over jieba's guess (``中标`` in 关于/中/标的/通知 matches);
  only false friends veto it.
* Field scope: a rule looks in ``fields`` (title and body by default); a ``title:`` or
  ``body:`` prefix overrides that for one keyword. A none-of keyword vetoes the rule when
  found in any of its fields. Title hits weigh double in ``GroupMatch.score``.
* Region scope: the rule's region code must appear in the item's ``region_path`` (the
  item's region lies inside the rule's); an item without a region matches no
  region-scoped rule.
* Domains: the item's declared domains; only when none is declared, those
  :func:`classify_domains` is confident of (``rules.domains.decide_domains``).
* Short-keyword boundaries are judged on jieba's segmentation (HMM off) of the run of
  Han characters/letters/digits holding the hit, which is exactly how jieba segments
  the whole text, so only that run is segmented.

Validation: :func:`parse_rule` raises; :func:`validate_rule` returns the problems as
strings for a form; :func:`check_spec` validates a spec built from data (YAML).

Domain classification
---------------------
:func:`classify_domains` puts an item in zero, one or several of the 26 :data:`DOMAINS`
from weighted keyword lists (``rules/data/domains.txt``, the domains' own vocabulary) with
anchors and vetoes (``domain_context.txt``): domains compete, and an item no domain is
confidently ahead for gets none (:mod:`rules.classify` has the decision). A keyword inside
a longer keyword found at the same place counts for the longer one only (``养老`` inside
``养老保险``). Every hit carries its score and reasons. A declared domain always wins
(:func:`rules.domains.decide_domains`). ``pusher bench classify`` reports the figures on
a hand-labelled test split (``bench/classify/``), the shared sample and the dev set.

Urgency
-------
:func:`classify_urgency` reads an item's title: a colour-graded warning signal
(蓝/黄/橙/红色预警, 预警信号), an emergency response started, or an emergency order
(紧急通知, 紧急转移, 立即撤离 …) is ``"urgent"``, unless the title lifts it (解除, 终止).

Speed
-----
The keyword automaton is pyahocorasick's C one when that package is installed, else a
pure-Python one with the same hits. jieba runs only when a word of its dictionary could
cross a short hit's edge. ``bench/bench_match.py`` measures 1k–100k rules.
Compiling (:mod:`rules.compiler`) works once per distinct keyword, clause and scope, so
100,000 rules take about 2 s of CPU; a service calls :func:`compile_texts` in a thread,
which parses the rule texts there too.

Offline tool: :func:`rules.offline.run_match` (``pusher match --rules R --items I``).
"""

from __future__ import annotations

from rules.compiler import compile_rules, compile_texts
from rules.domains import DomainClassifier, classify_domains
from rules.matcher import Matcher
from rules.model import DOMAINS, DomainHit, GroupMatch, ItemText, Reason, RuleSpec
from rules.parser import (
    RuleSyntaxError,
    canonical,
    check_spec,
    format_rule,
    parse_rule,
    validate_rule,
)
from rules.tokenizer import Tokenizer, build_tokenizer
from rules.urgency import classify_urgency

__all__ = [
    "DOMAINS",
    "DomainClassifier",
    "DomainHit",
    "GroupMatch",
    "ItemText",
    "Matcher",
    "Reason",
    "RuleSpec",
    "RuleSyntaxError",
    "Tokenizer",
    "build_tokenizer",
    "canonical",
    "check_spec",
    "classify_domains",
    "classify_urgency",
    "compile_rules",
    "compile_texts",
    "format_rule",
    "parse_rule",
    "validate_rule",
]
