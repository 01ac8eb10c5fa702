FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Resident memory (bench/memory.ts): large allocations from mmap, so memory freed after start-up goes back to the
# OS instead of staying in a fragmented heap; a smaller young generation.
ENV MALLOC_MMAP_THRESHOLD_=65536
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
EXPOSE 8080 2575
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/pagw.js"]
CMD ["start"]
