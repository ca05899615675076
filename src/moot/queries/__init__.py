"""Read models: the views the API and the pages list and show."""
