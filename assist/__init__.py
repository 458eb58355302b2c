"""Agent assist (坐席辅助): what a human agent needs next to a live conversation.

- `summary`: the handoff summary, built from the tracker's events and the live chat, each line
  pointing at the event it comes from;
- `customer`: the customer 360 (orders, bookings, refunds, tickets, earlier chats), masked;
- `suggestions`: the knowledge-base documents that answer the customer's latest message;
- `guidance`: alerts on the customer's messages and warnings on the agent's draft.

No Rasa imports: the workspace calls it with the events it reads from Rasa's HTTP API.
"""
