"""Operations on what a run left: verify and rollback."""
