"""Code the DAGs of this repository share: the Airflow Variables contract and resumable SageMaker operators.

This package contains no DAG (it is listed in ``dags/.airflowignore``). Airflow puts the DAGs folder on
``sys.path`` in the DAG processor and on the workers, so DAG files import it as ``airflow_on_aws``.
"""
