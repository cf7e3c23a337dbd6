# publisher in a container: `publisher serve` by default, any publisher command otherwise.
# The site (publisher.toml, posts/, .publisher/ with the state) is mounted at /site.
#   docker build -t publisher .
#   docker run -d -v /srv/blog:/site -e PUBLISHER_SECRET -p 127.0.0.1:8080:8080 publisher
#   docker run --rm -v /srv/blog:/site -e PUBLISHER_SECRET publisher publish --site /site
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 publisher
WORKDIR /opt/publisher
COPY pyproject.toml README.md ./
COPY publisher ./publisher
RUN pip install --no-cache-dir . && rm -rf /opt/publisher/publisher

USER publisher
WORKDIR /site
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
ENTRYPOINT ["publisher"]
CMD ["serve", "--site", "/site", "--host", "0.0.0.0", "--port", "8080"]
