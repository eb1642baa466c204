"""Alerts: rules → one grouped alert per situation (+ outbox rows, one write) → dispatcher → channels.

Modules, one job each:

- ``rules/``       rule types (short name → class, declared options, YAML validation)
- ``situation``    which situation a match belongs to (customer, campaign, thread, post, brand, term)
- ``grouping``     fingerprint and merge: one alert per situation across rules, updated as evidence grows
- ``growth``       severity that follows growth (reach, velocity, accounts: 10×, 100× steps)
- ``calm``         "calmed down" notifications, auto-resolve, per-channel digests
- ``publish``      write an alert change and its deliveries together, re-merging on conflict
- ``silences``     silences (matchers, expiry) and inhibition; failing reads notify anyway
- ``escalation``   overdue unacknowledged alerts → escalation channels (once); reminders
- ``lifecycle``    ``apply_action``: acknowledge, assign, resolve, reopen, snooze, note
- ``message``      what a notification says (brand, severity, why, post, author, customer, link)
- ``outbox``       delivery rows with stable ids
- ``dispatcher``   claims due deliveries with leases, sends, retries with backoff, dead letters
- ``notifiers/``   slack, webhook (signed), email (SMTP, RTL for Persian), telegram, log
- ``signing``      Stripe-style webhook signatures with secret rotation
- ``worker``       the ``alert`` stage worker; ``cli`` the commands

Rules live in ``settings.alerts.rules``, e.g. (the demo's support route)::

    alerts:
      escalation_channels: [pr-email]
      channels:
        support-slack: {type: slack, url: https://hooks.slack.com/services/...}
        pr-email: {type: email, smtp_host: mail.local, mail_from: bg@sepehr.example, mail_to: [pr@sepehr.example]}
        inbox: {type: log}
      rules:
        - {type: key_customer_negative, name: key-customer, severity: high, tiers: [gold, platinum],
           channels: [support-slack, inbox], team: support, ack_sla_minutes: 15, repeat_minutes: 60}
        - {type: risk_threshold, subject: thread, threshold: 60, critical_above: 85, channels: [support-slack]}
        - {type: thread_velocity, metric: shares, min_per_hour: 100, channels: [support-slack]}
        - {type: campaign_detected, min_authors: 5, critical_authors: 15, channels: [support-slack], team: pr}
        - {type: negative_spike, window_minutes: 60, baseline_hours: 168, min_count: 10, factor: 3, channels: [inbox]}
        - {type: surging_term, min_authors: 5, channels: [inbox]}

Alert-wide settings: ``growth_steps`` ([10, 100]), ``growth_min_base`` (10),
``learning_hours`` (24: baseline rules wait for a brand's history, see ``core.baseline``),
``calm_after_minutes`` (120), ``auto_resolve`` (false); per channel ``digest_minutes`` and
``digest_severities`` (info, warning). The recommended rule set is the one in
``core/example_config.yaml`` (measured by ``bench/bench_noise.py``).

Common rule options: ``name``, ``severity`` (info/warning/high/critical), ``channels``, ``team``,
``brands`` (default: every non-competitor brand), ``ack_sla_minutes`` (default by severity:
critical 15, high 30, warning 120), ``repeat_minutes``, ``reopen_within_hours`` (72),
``max_mention_age_hours`` (48), ``enabled``.
"""
