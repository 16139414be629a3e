"""The expression languages, parsed once and used by validation, the engine and the event
sources alike.

* :mod:`.jsonpath`: ASL's JsonPath (Jayway's dialect): paths and reference paths;
* :mod:`.intrinsics`: the ``States.*`` intrinsic functions;
* :mod:`.jsonata`: ``QueryLanguage: JSONata`` expressions, with an evaluation budget;
* :mod:`.patterns`: EventBridge event patterns;
* :mod:`.filters`: SNS filter policies, S3 notification filters, Lambda filter criteria;
* :mod:`.schedule`: ``rate``/``cron``/``at`` schedule expressions and their fire times.

Nothing here performs I/O or reads a clock, and nothing imports from a layer above
(``flowengine.model`` and ``flowengine.errors`` only).
"""
