"""星河智能客服 action server: one module per business area.

Actions are thin adapters from a Rasa tracker to a service call and a response;
the business rules live in `business.services` and the data in `business.store`,
neither of which imports Rasa.
"""
