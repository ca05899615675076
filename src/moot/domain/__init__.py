"""Pure rules of Moot: ids, enums, ranking, validation limits, markdown. No I/O."""
