import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The app runs on its own origin (5173): start the local stack with APP_ORIGINS=http://localhost:5173.
export default defineConfig({ plugins: [react()], server: { port: 5173 } });
