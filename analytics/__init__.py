"""数据分析与报告: what the service did, measured the way the industry measures it.

Rasa's event broker carries every conversation event out of Rasa (the SQL broker's table with
`make run`, RabbitMQ with `make run-prod`); `analytics.intake` keeps them once each and folds each
conversation into facts (`analytics.facts`) in the business database; `analytics.metrics` computes
the figures from the facts with the definitions of docs/analytics.md; `analytics.report` draws them.

    python -m analytics consume              follow the broker (make run starts it)
    python -m analytics report [--from D] [--to D] [--channel C] [--out DIR]
    python -m analytics rebuild              rebuild every conversation's facts from the kept events
    python -m analytics backfill             read what the SQL tracker store keeps (conversations from
                                             before the consumer ran) into the facts
"""
