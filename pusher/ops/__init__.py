"""Operations: metrics counters, readiness checks, logging, database migrations."""
