"""Business rules of 星河 customer service, free of Rasa so they are tested on their own."""
