"""The AWS ElastiCache Query API over HTTP.

Parses form fields into typed requests by walking botocore's service model, hands them to
`service/`, and renders results and errors as the model's XML. Imports `service` and `model`.
"""
