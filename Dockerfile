# syntax=docker/dockerfile:1
# mcplane image: build on Debian bookworm, run on distroless Debian 12 (same glibc, so any native module
# built in the first stages runs in the last). No shell, no package manager, non-root at run time.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

# Stage 1: compile TypeScript (tsc, tsconfig.build.json) to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Stage 2: production dependencies only, without type declarations, source maps and docs (about half
# of node_modules, most of it @kubernetes/client-node's generated models).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
RUN find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete

# Stage 3: runtime. distroless's entrypoint is node; ours names the script too, because Kubernetes `args`
# (the chart's flags) replace CMD: with CMD ["dist/main.js"] the flags would reach node, not mcplane.
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
COPY --chown=0:0 package.json ./
USER 65532:65532
EXPOSE 8080 9091
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/main.js"]
